import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { INSTANCE_TAGS } from '../../lambdas/adapters/ec2/instance-tags.js';
import { readyCallbackOf } from '../../lambdas/local/simulated-boot.js';
import { buyMachine, type Harness, type PaidMachine, startHarness } from '../support/harness.js';

/**
 * POST /api/machines/{machine_id}/ready, the one operation the machine calls itself, through
 * real HTTP on the local storefront. The simulated machines here never call it on their own
 * (no route to the storefront), and the workflow waits a minute for the callback, so each
 * call below is the test's.
 */
describe('the machine ready callback', () => {
  let api: Harness;
  beforeEach(async () => {
    api = await startHarness({
      workflowTiming: { pollMs: 10, retryMs: 5, readyWaitMs: 60_000 },
    });
    for (let i = 1; i <= 3; i++)
      api.fleet.boot.neverCallsBack.add(`i-${String(i).padStart(17, '0')}`);
  });
  afterEach(() => api.close());

  /** The machine's launch: its instance, address and the callback its user data carries. */
  async function launched(lease: PaidMachine) {
    for (let i = 0; i < 400; i++) {
      const record = await api.storefront.machines.get(lease.machineId, new Date(0));
      const call = api.fleet.ec2.calls.find(
        (candidate) =>
          candidate.command === RunInstancesCommand.name &&
          JSON.stringify(candidate.input).includes(
            JSON.stringify({ Key: INSTANCE_TAGS.machineId, Value: lease.machineId }),
          ),
      );
      if (record?.ready_secret_hash && record.instance_id && call) {
        const callback = readyCallbackOf((call.input as { UserData: string }).UserData);
        const host = api.fleet.ec2.instance(record.instance_id)?.PublicIpAddress;
        if (callback && host) return { ...callback, host };
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`${lease.machineId} was never launched`);
  }

  const report = (machineId: string, authorization: string | undefined, body: unknown) =>
    api.request('POST', `/api/machines/${machineId}/ready`, {
      body,
      headers: authorization === undefined ? {} : { authorization },
    });

  /** What a refused call must leave untouched. */
  const snapshot = async (machineId: string) => {
    const record = await api.storefront.machines.get(machineId, new Date(0));
    return {
      status: record?.status,
      host: record?.host,
      activated_at: record?.activated_at,
      expires_at: record?.expires_at,
    };
  };

  it('activates the lease at once with its own secret, and wakes the workflow to hold it', async () => {
    const lease = await buyMachine(api, { duration_minutes: 60 });
    const machine = await launched(lease);
    const reply = await report(lease.machineId, `Bearer ${machine.secret}`, { host: machine.host });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      machine_id: lease.machineId,
      status: 'active',
      host: machine.host,
      ssh_command: `ssh ubuntu@${machine.host}`,
    });
    // The clock starts at the callback: the whole 60 paid minutes are left.
    expect(
      Date.parse(String(reply.body.expires_at)) - Date.parse(String(reply.body.activated_at)),
    ).toBe(60 * 60_000);
    const read = await api.machine(lease.machineId, lease.tokens.read_token);
    expect(read.body).toMatchObject({ status: 'active', host: machine.host });
    // The workflow, woken, holds the lease: it never polled.
    for (let i = 0; i < 200; i++) {
      if (api.fleet.workflow.execution(lease.machineId)?.states.includes('Hold until lease end'))
        break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const states = api.fleet.workflow.execution(lease.machineId)?.states ?? [];
    expect(states).toEqual([
      'Read lease',
      'Still to launch?',
      'Launch and await ready',
      'Ready or ended?',
      'Hold until lease end',
    ]);
  });

  it("takes the lease's address from EC2, not from the report (which may come from the agent, root on its machine)", async () => {
    const lease = await buyMachine(api);
    const machine = await launched(lease);
    const reply = await report(lease.machineId, `Bearer ${machine.secret}`, {
      host: '198.51.100.66',
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'active', host: machine.host });
    expect(machine.host).not.toBe('198.51.100.66');
    const read = await api.machine(lease.machineId, lease.tokens.read_token);
    expect(read.body.host).toBe(machine.host);
  });

  it('answers 503 (retry) while EC2 lists no address, activating nothing', async () => {
    const lease = await buyMachine(api);
    const machine = await launched(lease);
    const ready = await api.storefrontOf('reportMachineReady');
    const real = ready.instances;
    ready.instances = { publicAddress: async () => undefined };
    try {
      const reply = await report(lease.machineId, `Bearer ${machine.secret}`, {});
      expect(reply.status).toBe(503);
      expect(reply.headers.get('retry-after')).toBe('5');
      expect((await snapshot(lease.machineId)).status).toBe('provisioning');
    } finally {
      ready.instances = real;
    }
    expect((await report(lease.machineId, `Bearer ${machine.secret}`, {})).status).toBe(200);
  });

  it('refuses a missing, malformed, forged or other machine secret, and a bad body, changing nothing', async () => {
    const lease = await buyMachine(api);
    const other = await buyMachine(api);
    const machine = await launched(lease);
    const otherMachine = await launched(other);
    const before = await snapshot(lease.machineId);
    const forged = `mr_ready_${'A'.repeat(43)}`;
    const good = { host: machine.host };

    const refusals: [string | undefined, unknown, number, RegExp][] = [
      [undefined, good, 401, /Authorization: Bearer <readiness secret> is required/],
      ['Bearer nonsense', good, 401, /mr_ready_/],
      [`Bearer ${lease.tokens.read_token}`, good, 401, /mr_ready_/],
      [`Basic ${machine.secret}`, good, 401, /mr_ready_/],
      [`Bearer ${forged}`, good, 403, /does not belong to this machine/],
      [`Bearer ${otherMachine.secret}`, good, 403, /does not belong to this machine/],
      // A body the contract's schema refuses is API Gateway's to answer, before any function
      // (and its secret check) runs: the mapped BAD_REQUEST_BODY response.
      [`Bearer ${machine.secret}`, { host: 'example.com; reboot' }, 400, /does not match/],
      [`Bearer ${machine.secret}`, { host: machine.host, extra: 1 }, 400, /does not match/],
      [`Bearer ${machine.secret}`, '{not json', 400, /does not match/],
      [`Bearer ${forged}`, '{not json', 400, /does not match/],
    ];
    for (const [authorization, body, status, message] of refusals) {
      const reply = await report(lease.machineId, authorization, body);
      expect([authorization, reply.status]).toEqual([authorization, status]);
      expect(String(reply.body.error)).toMatch(message);
    }
    // The right secret, the wrong machine: the other machine's id with this one's secret.
    const crossed = await report(other.machineId, `Bearer ${machine.secret}`, good);
    expect(crossed.status).toBe(403);
    expect((await report('machine_nothex', `Bearer ${machine.secret}`, good)).status).toBe(404);

    expect(await snapshot(lease.machineId)).toEqual(before);
    expect((await snapshot(other.machineId)).status).toBe('provisioning');
    expect(api.fleet.workflow.execution(lease.machineId)?.states).not.toContain(
      'Hold until lease end',
    );
  });

  it('refuses a replay after activation, and a callback after DELETE, changing nothing', async () => {
    const lease = await buyMachine(api);
    const machine = await launched(lease);
    const first = await report(lease.machineId, `Bearer ${machine.secret}`, { host: machine.host });
    expect(first.status).toBe(200);
    const active = await snapshot(lease.machineId);
    const replay = await report(lease.machineId, `Bearer ${machine.secret}`, {
      host: '198.51.100.99',
    });
    expect(replay.status).toBe(409);
    expect(replay.body.error).toMatch(/machine is active; it can report ready only once/);
    expect(await snapshot(lease.machineId)).toEqual(active);

    // Terminated while still provisioning: its callback can never bring it back.
    const deleted = await buyMachine(api);
    const deletedMachine = await launched(deleted);
    expect((await api.terminate(deleted.machineId, deleted.tokens.terminate_token)).status).toBe(
      200,
    );
    const late = await report(deleted.machineId, `Bearer ${deletedMachine.secret}`, {
      host: deletedMachine.host,
    });
    expect(late.status).toBe(409);
    const ended = await api.waitForStatus(deleted.machineId, deleted.tokens.read_token, [
      'terminated',
    ]);
    expect(ended.body).not.toHaveProperty('activated_at');
    expect(ended.body.host).toBeNull();
  });
});
