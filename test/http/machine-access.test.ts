import { buyMachine, type Harness, type PaidMachine, startHarness } from '../support/harness.js';
import { until } from '../support/until.js';

describe('capability tokens over HTTP', () => {
  let api: Harness;
  let machine: PaidMachine;
  let other: PaidMachine;
  beforeAll(async () => {
    api = await startHarness();
    machine = await buyMachine(api);
    other = await buyMachine(api);
    await api.waitForStatus(machine.machineId, machine.tokens.read_token, ['active']);
  });
  afterAll(() => api.close());

  const operations = [
    [
      'read',
      (id: string, headers: Record<string, string>) =>
        api.request('GET', `/api/machines/${id}`, { headers }),
    ],
    [
      'terminate',
      (id: string, headers: Record<string, string>) =>
        api.request('DELETE', `/api/machines/${id}`, { headers }),
    ],
    [
      'extend',
      (id: string, headers: Record<string, string>) =>
        api.request('POST', `/api/machines/${id}/extend`, {
          headers,
          body: { additional_minutes: 10 },
        }),
    ],
  ] as const;

  describe.each(operations)('%s', (_name, call) => {
    it.each([
      ['no Authorization header', {}],
      ['an empty header', { authorization: '' }],
      ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
      ['Bearer without a token', { authorization: 'Bearer ' }],
      ['a token of the wrong shape', { authorization: 'Bearer abc123' }],
      ['a payment credential', { authorization: 'Payment eyJhIjoxfQ' }],
    ])('answers 401 to %s', async (_label, headers) => {
      const reply = await call(machine.machineId, headers);
      expect(reply.status).toBe(401);
      expect(reply.body.error).toMatch(/Bearer/);
      expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/);
    });

    it('answers 404 to a machine id that does not match the contract pattern', async () => {
      expect(
        (await call('machine_XYZ', { authorization: `Bearer ${machine.tokens.read_token}` }))
          .status,
      ).toBe(404);
    });

    it('answers 401 to a missing Authorization before looking at the machine id', async () => {
      const reply = await call('i-0123456789abcdef0', {});
      expect(reply.status).toBe(401);
      expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/);
    });

    it("answers 403 to another machine's token", async () => {
      const tokens = Object.values(other.tokens);
      for (const token of tokens) {
        expect((await call(machine.machineId, { authorization: `Bearer ${token}` })).status).toBe(
          403,
        );
      }
    });

    it('cannot be told an unknown machine from a wrong token', async () => {
      const unknown = await call('machine_0000000000000000', {
        authorization: `Bearer ${machine.tokens.read_token}`,
      });
      const wrong = await call(machine.machineId, {
        authorization: `Bearer ${other.tokens.read_token}`,
      });
      expect(wrong.status).toBe(403);
      expect(unknown.status).toBe(403);
      expect(unknown.body).toEqual(wrong.body);
    });
  });

  it('lets each token do only its own operation', async () => {
    const { read_token, extend_token, terminate_token } = machine.tokens;
    expect((await api.machine(machine.machineId, extend_token)).status).toBe(403);
    expect((await api.machine(machine.machineId, terminate_token)).status).toBe(403);
    expect((await api.terminate(machine.machineId, read_token)).status).toBe(403);
    expect((await api.terminate(machine.machineId, extend_token)).status).toBe(403);
    expect(
      (await api.extend(machine.machineId, read_token, { additional_minutes: 10 })).status,
    ).toBe(403);
    expect(
      (await api.extend(machine.machineId, terminate_token, { additional_minutes: 10 })).status,
    ).toBe(403);
    expect((await api.machine(machine.machineId, read_token)).body.status).toBe('active');
  });

  it('terminates idempotently and keeps read access after the lease ends', async () => {
    const target = await buyMachine(api);
    const first = await api.terminate(target.machineId, target.tokens.terminate_token);
    const second = await api.terminate(target.machineId, target.tokens.terminate_token);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    await api.waitForStatus(target.machineId, target.tokens.read_token, ['terminated']);
    const third = await api.terminate(target.machineId, target.tokens.terminate_token);
    expect(third.body.status).toBe('terminated');
    const read = await api.machine(target.machineId, target.tokens.read_token);
    expect(read.body).toMatchObject({ status: 'terminated', terminated_at: expect.any(String) });
  });

  it('never lets a machine terminated while provisioning come back to life', async () => {
    const api2 = await startHarness({ ec2Timing: { bootMs: 300, readyMs: 20, shutdownMs: 20 } });
    try {
      const target = await buyMachine(api2);
      expect(
        (await api2.terminate(target.machineId, target.tokens.terminate_token)).body.status,
      ).toBe('terminating');
      await api2.waitForStatus(target.machineId, target.tokens.read_token, ['terminated']);
      // Everything that could still bring it back has run: the workflow ended, the instance is
      // gone (its boot, 300 ms, would have reported ready by now had it lived).
      await api2.fleet.workflow.execution(target.machineId)?.done;
      const instanceId = (await api2.storefront.machines.get(target.machineId, new Date(0)))
        ?.instance_id;
      if (instanceId)
        await until('the instance gone', () =>
          /shutting-down|terminated/.test(api2.fleet.ec2.instance(instanceId)?.State?.Name ?? ''),
        );
      expect((await api2.machine(target.machineId, target.tokens.read_token)).body.status).toBe(
        'terminated',
      );
    } finally {
      await api2.close();
    }
  });
});

describe('extending a lease over HTTP', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness();
  });
  afterAll(() => api.close());

  it('refuses extensions past the product maximum, before any payment', async () => {
    const target = await buyMachine(api, { duration_minutes: 300 });
    const reply = await api.extend(target.machineId, target.tokens.extend_token, {
      additional_minutes: 61,
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/limited to 360 minutes in total \(at most 60 more\)/);
  });

  it('refuses to extend a terminated machine', async () => {
    const target = await buyMachine(api);
    await api.terminate(target.machineId, target.tokens.terminate_token);
    await api.waitForStatus(target.machineId, target.tokens.read_token, ['terminated']);
    const reply = await api.extend(target.machineId, target.tokens.extend_token, {
      additional_minutes: 10,
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/machine is terminated/);
  });

  it('charges a retried extension with the same request_id only once', async () => {
    const target = await buyMachine(api);
    const body = { additional_minutes: 15, request_id: '6a1f4e4e-3c2b-4d7a-9e0f-0123456789ab' };
    const first = await api.payExtension(target.machineId, target.tokens.extend_token, body);
    const retry = await api.extend(target.machineId, target.tokens.extend_token, body);
    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(retry.body.lease_minutes).toBe(75);
    expect(retry.headers.get('payment-receipt')).toBe(first.headers.get('payment-receipt'));
    const reused = await api.extend(target.machineId, target.tokens.extend_token, {
      ...body,
      additional_minutes: 20,
    });
    expect(reused.status).toBe(409);
  });

  it('does not let a paid extension credential be replayed for a second extension', async () => {
    const target = await buyMachine(api);
    const challenge = await api.extend(target.machineId, target.tokens.extend_token, {
      additional_minutes: 10,
    });
    const credential = await api.agent('paid').createCredential(
      new Response(null, {
        status: 402,
        headers: { 'www-authenticate': challenge.headers.get('www-authenticate') ?? '' },
      }),
    );
    const headers = { 'payment-authorization': credential };
    const first = await api.extend(
      target.machineId,
      target.tokens.extend_token,
      { additional_minutes: 10 },
      headers,
    );
    const replay = await api.extend(
      target.machineId,
      target.tokens.extend_token,
      { additional_minutes: 10 },
      headers,
    );
    expect(first.status).toBe(200);
    expect(first.body.lease_minutes).toBe(70);
    expect(replay.status).toBe(402);
    const read = await api.machine(target.machineId, target.tokens.read_token);
    expect(read.body.lease_minutes).toBe(70);
  });

  it('refuses a declined extension payment and leaves the lease as it was', async () => {
    const target = await buyMachine(api);
    const reply = await api.payExtension(
      target.machineId,
      target.tokens.extend_token,
      { additional_minutes: 10 },
      'declined',
    );
    expect(reply.status).toBe(402);
    expect(reply.body.error).toMatch(/declined/);
    expect((await api.machine(target.machineId, target.tokens.read_token)).body.lease_minutes).toBe(
      60,
    );
  });
});
