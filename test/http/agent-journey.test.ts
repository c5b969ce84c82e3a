import { Receipt } from 'mppx';
import { buyMachine, type Harness, orderBody, startHarness } from '../support/harness.js';

describe('an agent leasing a machine over HTTP with MPP', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness();
  });
  afterAll(() => api.close());

  it('goes from health to a paid, active, extended and terminated lease', async () => {
    const health = await api.health();
    expect(health).toMatchObject({
      status: 200,
      body: { status: 'ok', products: ['bare-linux-machine', 'gpu-h100-machine'] },
    });

    const body = orderBody({ duration_minutes: 30 });
    const preflight = await api.validate(body);
    expect(preflight.status).toBe(200);
    expect(preflight.body).toMatchObject({
      protocol: 'mpp',
      methods: ['test/charge'],
      product_type: 'machine_lease',
      request_id: body.request_id,
      quote: { amount_cents: 249, amount: '2.49', currency: 'usd' },
    });

    const unpaid = await api.order(body);
    expect(unpaid.status).toBe(402);
    expect(unpaid.body).toEqual({
      order_id: expect.stringMatching(/^order_[a-f0-9]{32}$/),
      status: 'unpaid',
      error: expect.stringContaining(
        'payment required: 30 minutes of bare-linux-machine cost 2.49 USD',
      ),
      quote: preflight.body.quote,
      server_time: expect.any(String),
    });
    const challenge = unpaid.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(
      /^Payment id="[^"]+", realm="127\.0\.0\.1:\d+", method="test", intent="charge"/,
    );
    expect(challenge).toContain('TEST PAYMENT, no money moves');

    const before = await api.getOrder(String(unpaid.body.order_id));
    expect(before.body).toMatchObject({
      status: 'unpaid',
      payment_status: 'unpaid',
      is_paid: false,
      current_step: 'awaiting_payment',
    });

    const paid = await api.payOrder(body);
    expect(paid.status).toBe(202);
    expect(paid.body).toMatchObject({
      order_id: unpaid.body.order_id,
      status: 'settled',
      payment_status: 'paid',
      is_paid: true,
      order_complete_url: `${api.url}/api/machine/mpp/orders/${unpaid.body.order_id}`,
      machine: {
        product: 'bare-linux-machine',
        status: 'provisioning',
        host: null,
        username: 'ubuntu',
        lease_minutes: 30,
        // The clock starts at activation: all the paid seconds are left.
        lease_clock: 'not_started',
        seconds_left: 30 * 60,
      },
    });
    const receipt = Receipt.deserialize(paid.headers.get('payment-receipt') ?? '');
    expect(receipt).toMatchObject({
      method: 'test',
      status: 'success',
      externalId: unpaid.body.order_id,
    });
    const machine = paid.body.machine as { machine_id: string; management: Record<string, string> };
    const { read_token, extend_token, terminate_token } = machine.management as Record<
      string,
      string
    >;

    const polled = await api.getOrder(String(paid.body.order_id));
    expect(polled.body).toMatchObject({
      status: 'settled',
      is_paid: true,
      machine_id: machine.machine_id,
    });
    expect(polled.body).not.toHaveProperty('machine');
    expect(JSON.stringify(polled.body)).not.toContain('mt_');

    const active = await api.waitForStatus(machine.machine_id, String(read_token), ['active']);
    expect(active.body).toMatchObject({
      status: 'active',
      host: expect.stringMatching(/^203\.0\.113\.\d+$/),
      ssh_command: `ssh ubuntu@${active.body.host}`,
    });
    const activatedAt = Date.parse(String(active.body.activated_at));
    expect(Date.parse(String(active.body.expires_at)) - activatedAt).toBe(30 * 60_000);

    const unpaidExtension = await api.extend(machine.machine_id, extend_token, {
      additional_minutes: 20,
    });
    expect(unpaidExtension.status).toBe(402);
    expect(unpaidExtension.body).toMatchObject({
      quote: { additional_minutes: 20, amount_cents: 100, amount: '1.00' },
    });
    // One 402 shape for orders and extensions: error, quote and server_time.
    for (const key of ['error', 'quote', 'server_time']) {
      expect(unpaid.body).toHaveProperty(key);
      expect(unpaidExtension.body).toHaveProperty(key);
    }
    expect(unpaidExtension.headers.get('www-authenticate')).toContain(
      'header="Payment-Authorization"',
    );

    const extended = await api.payExtension(machine.machine_id, String(extend_token), {
      additional_minutes: 20,
    });
    expect(extended.status).toBe(200);
    expect(extended.body).toMatchObject({
      status: 'active',
      lease_minutes: 50,
      lease_clock: 'running',
      seconds_left: expect.any(Number),
    });
    expect(Date.parse(String(extended.body.expires_at))).toBe(
      Date.parse(String(active.body.expires_at)) + 20 * 60_000,
    );
    expect(Receipt.deserialize(extended.headers.get('payment-receipt') ?? '').method).toBe('test');

    const terminated = await api.terminate(machine.machine_id, terminate_token);
    expect(terminated.status).toBe(200);
    expect(['terminating', 'terminated']).toContain(terminated.body.status);
    // Ended early: the purchase's unused minutes beyond the 15-minute minimum come back
    // (the extension's 20 minutes stay paid), 15 × 5¢.
    expect(terminated.body).toMatchObject({
      seconds_left: 0,
      lease_clock: 'stopped',
      host: null,
      refund: { amount_cents: 75, status: 'pending' },
    });
    expect(terminated.body).not.toHaveProperty('ssh_command');
    const ended = await api.waitForStatus(machine.machine_id, String(read_token), ['terminated']);
    expect(ended.body.terminated_at).toEqual(expect.any(String));
    expect(ended.body.refund).toMatchObject({ amount_cents: 75 });

    const finalOrder = await api.getOrder(String(paid.body.order_id));
    expect(finalOrder.body.current_step).toBe('terminated');
  });

  it('answers an identical retry of a paid order with the same order, machine and tokens, charging nothing', async () => {
    const body = orderBody();
    const first = await api.payOrder(body);
    const again = await api.payOrder(body);
    const noCredential = await api.order(body);
    // The lease may have moved on meanwhile (its machine ready, the clock started): the same
    // machine, tokens and terms, in whatever state it has reached.
    const {
      status: _status,
      host: _host,
      activated_at: _activatedAt,
      expires_at: _expiresAt,
      lease_clock: _leaseClock,
      seconds_left: _secondsLeft,
      ...sameMachine
    } = first.body.machine as Record<string, unknown>;
    for (const retry of [again, noCredential]) {
      expect(retry.status).toBe(202);
      expect(retry.body.machine).toMatchObject(sameMachine);
      expect(retry.headers.get('payment-receipt')).toBe(first.headers.get('payment-receipt'));
    }
    const tokens = again.body.machine as { machine_id: string; management: { read_token: string } };
    expect((await api.machine(tokens.machine_id, tokens.management.read_token)).status).toBe(200);
  });

  it('provisions one machine when many paid retries race', async () => {
    const body = orderBody();
    const replies = await Promise.all(Array.from({ length: 6 }, () => api.payOrder(body)));
    const paid = replies.filter((reply) => reply.status === 202);
    expect(paid.length).toBeGreaterThan(0);
    for (const reply of replies) expect([202, 409]).toContain(reply.status);
    const machineIds = new Set(
      paid.map((reply) => (reply.body.machine as { machine_id: string }).machine_id),
    );
    expect(machineIds.size).toBe(1);
  });

  it('refuses the same request_id with another body, keeping the first order', async () => {
    const body = orderBody();
    const first = await api.order(body);
    const items = await api.itemCount();
    const changed = await api.order({ ...body, duration_minutes: 90 });
    expect(changed.status).toBe(409);
    expect(changed.body.error).toMatch(/request_id was already used for a different order/);
    expect(await api.itemCount()).toBe(items);
    const paid = await api.payOrder(body);
    expect(paid.body.order_id).toBe(first.body.order_id);
    expect(await api.order({ ...body, duration_minutes: 90 })).toMatchObject({ status: 409 });
  });

  it('does not let a credential minted for one order pay another', async () => {
    const bodyA = orderBody();
    const bodyB = orderBody();
    const agent = api.agent('paid');
    const challengeA = await api.order(bodyA);
    const credentialA = await agent.createCredential(
      new Response(null, {
        status: 402,
        headers: { 'www-authenticate': challengeA.headers.get('www-authenticate') ?? '' },
      }),
    );
    const items = await api.itemCount();
    await api.order(bodyB);
    const itemsWithB = await api.itemCount();
    expect(itemsWithB).toBe(items + 1);

    const misused = await api.order(bodyB, { authorization: credentialA });
    expect(misused.status).toBe(402);
    expect(misused.body).toMatchObject({
      status: 'unpaid',
      error: expect.stringMatching(/does not match/),
    });
    expect(misused.headers.get('www-authenticate')).toMatch(/^Payment /);
    expect(await api.itemCount()).toBe(itemsWithB);
    const orderB = await api.getOrder(String(misused.body.order_id));
    expect(orderB.body.status).toBe('unpaid');

    const rightful = await api.order(bodyA, { authorization: credentialA });
    expect(rightful.status).toBe(202);
  });

  it('refuses a declined payment with a fresh challenge and provisions nothing', async () => {
    const body = orderBody();
    const declined = await api.payOrder(body, 'declined');
    expect(declined.status).toBe(402);
    expect(declined.body).toMatchObject({
      status: 'unpaid',
      error: expect.stringMatching(/declined/),
    });
    expect(declined.headers.get('www-authenticate')).toMatch(/^Payment /);
    const order = await api.getOrder(String(declined.body.order_id));
    expect(order.body).toMatchObject({ status: 'unpaid', is_paid: false });
    expect(order.body).not.toHaveProperty('machine_id');
  });

  it('answers a malformed credential with 402 and a fresh challenge, not 500', async () => {
    const reply = await api.order(orderBody(), { authorization: 'Payment not-base64-json' });
    expect(reply.status).toBe(402);
    expect(reply.body.error).toMatch(/malformed/i);
    expect(reply.headers.get('www-authenticate')).toMatch(/^Payment /);
  });

  it('says so when the Payment scheme arrives with no credential, instead of repeating the first challenge', async () => {
    const body = orderBody();
    const first = await api.order(body);
    const empty = await api.order(body, { authorization: 'Payment ' });
    expect(empty.status).toBe(402);
    expect(empty.headers.get('www-authenticate')).toMatch(/^Payment /);
    expect(empty.body.error).toMatch(
      /Authorization header names the Payment scheme but carries no credential/,
    );
    expect(empty.body.error).not.toBe(first.body.error);
    expect(empty.body.order_id).toBe(first.body.order_id);

    const machine = await buyMachine(api);
    const extension = await api.extend(
      machine.machineId,
      machine.tokens.extend_token,
      { additional_minutes: 15 },
      { 'payment-authorization': 'Payment' },
    );
    expect(extension.status).toBe(402);
    expect(extension.body.error).toMatch(
      /Payment-Authorization header names the Payment scheme but carries no credential/,
    );
  });

  it('reports unknown and malformed order ids as 404', async () => {
    expect((await api.getOrder('order_00000000000000000000000000000000')).status).toBe(404);
    expect((await api.getOrder('nope')).status).toBe(404);
  });

  it('never writes a token, credential or key into its logs', async () => {
    const { tokens } = await buyMachine(api);
    const logged = JSON.stringify(api.log.entries);
    expect(logged).not.toMatch(/mt_(read|extend|term)_/);
    expect(logged).not.toContain(tokens.read_token);
    expect(logged).not.toMatch(/Payment [A-Za-z0-9_-]{20,}/);
    expect(logged).not.toContain('ssh-ed25519');
  });
});
