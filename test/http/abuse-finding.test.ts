import { localOperatorContext } from '../../bin/operator-context.js';
import { INSTANCE_TAGS } from '../../lambdas/adapters/ec2/instance-tags.js';
import { DEFAULT_FINDING_POLICY, judgeFinding } from '../../lambdas/core/abuse-findings.js';
import { sshKeyFingerprint } from '../../lambdas/core/blocks.js';
import { actOnFinding } from '../../lambdas/core/use-cases/act-on-finding.js';
import { sweepPayments } from '../../lambdas/core/use-cases/sweep-payments.js';
import { runOperatorCommand } from '../../lambdas/operator/operator-commands.js';
import { simulatedFinding } from '../../lambdas/operator/simulated-finding.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';
import { buyMachine, type Harness, orderBody, startHarness } from '../support/harness.js';
import { ed25519Key } from '../support/ssh-keys.js';

describe('a GuardDuty finding about a lease (simulated locally, over HTTP)', () => {
  let api: Harness;
  let operator: ReturnType<typeof localOperatorContext>;
  const run = async (...argv: string[]) =>
    (await runOperatorCommand(operator, argv)).map((line) => JSON.parse(line));

  beforeAll(async () => {
    api = await startHarness();
    operator = localOperatorContext(api.endpoints, 'test-operator', memoryLogger());
  });
  afterAll(async () => {
    operator.close();
    await api.close();
  });

  it('ends the lease, blocks its key, and the next order is refused before payment', async () => {
    const key = ed25519Key('miner@example');
    const bought = await buyMachine(api, { ssh_public_key: key });
    await api.waitForStatus(bought.machineId, bought.tokens.read_token, ['active']);

    const [outcome] = await run('finding', bought.machineId);
    expect(outcome).toMatchObject({
      kind: 'acted',
      machine_id: bought.machineId,
      lease: 'ended',
      blocked: sshKeyFingerprint(key),
      type: 'CryptoCurrency:EC2/BitcoinTool.B!DNS',
    });

    const read = await api.waitForStatus(bought.machineId, bought.tokens.read_token, [
      'terminated',
    ]);
    expect(read.body.failure_reason).toMatch(
      /^ended for cause under the acceptable-use policy \(.*\/acceptable-use\): GuardDuty finding CryptoCurrency:EC2\/BitcoinTool\.B!DNS \(severity 8, id [0-9a-f]+\)$/,
    );

    const before = await api.itemCount();
    const refused = await api.order(orderBody({ ssh_public_key: key }));
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatch(/SSH key.*GuardDuty finding/);
    expect(refused.headers.get('www-authenticate')).toBeNull();
    expect(await api.itemCount()).toBe(before);

    // The unused minutes go back (never the time used), once.
    await sweepPayments(api.storefront);
    const machine = await api.storefront.machines.get(bought.machineId, new Date(0));
    expect(machine?.end_cause).toMatchObject({ refund: 'unused', ended_by: 'guardduty' });
    expect(machine?.cause_refunds?.order?.refund?.status).toBe('refunded');
    expect(machine?.cause_refunds?.order?.amount_cents).toBe(59 * 5);

    // Delivered again (EventBridge may), nothing more happens.
    const [again] = await run('finding', bought.machineId);
    expect(again).toMatchObject({ lease: 'already_ended' });
    expect(again).not.toHaveProperty('blocked');
  });

  it("leaves an operator's unblock standing when the finding comes again (redelivered or updated)", async () => {
    const key = ed25519Key('false-positive@example');
    const bought = await buyMachine(api, { ssh_public_key: key });
    await api.waitForStatus(bought.machineId, bought.tokens.read_token, ['active']);
    expect((await run('finding', bought.machineId))[0]).toMatchObject({
      lease: 'ended',
      blocked: sshKeyFingerprint(key),
    });
    expect((await run('unblock', 'ssh-key', sshKeyFingerprint(key)))[0]).toMatchObject({
      existed: true,
    });

    const [again] = await run('finding', bought.machineId);
    expect(again).toMatchObject({ lease: 'already_ended' });
    expect(again).not.toHaveProperty('blocked');
    expect((await api.order(orderBody({ ssh_public_key: key }))).status).toBe(402);
  });

  it('acts on nothing when the tagged lease runs another instance than the finding names', async () => {
    const key = ed25519Key('copied-tag@example');
    const bought = await buyMachine(api, { ssh_public_key: key });
    await api.waitForStatus(bought.machineId, bought.tokens.read_token, ['active']);
    const event = simulatedFinding({
      machineId: bought.machineId,
      instanceId: 'i-0ffffffffffffffff',
      now: new Date(),
    });
    const outcome = await actOnFinding(
      { ...operator, policyUrl: 'https://storefront.invalid/acceptable-use' },
      event,
      DEFAULT_FINDING_POLICY,
      INSTANCE_TAGS.machineId,
    );
    expect(outcome).toMatchObject({ kind: 'ignored', why: expect.stringMatching(/is not/) });
    const read = await api.machine(bought.machineId, bought.tokens.read_token);
    expect(read.body.status).toBe('active');
    expect((await api.order(orderBody({ ssh_public_key: key }))).status).toBe(402);
  });

  it('ignores findings of other types, lower severity, or not about a lease', () => {
    const base = { machineId: 'machine_0123456789abcdef', instanceId: 'i-0abc', now: new Date() };
    const tag = 'storefront:machine-id';
    expect(judgeFinding(simulatedFinding(base), DEFAULT_FINDING_POLICY, tag)).toMatchObject({
      act: true,
    });
    expect(
      judgeFinding(
        simulatedFinding({ ...base, type: 'Policy:IAMUser/RootCredentialUsage' }),
        DEFAULT_FINDING_POLICY,
        tag,
      ),
    ).toMatchObject({ act: false });
    expect(
      judgeFinding(simulatedFinding({ ...base, severity: 2 }), DEFAULT_FINDING_POLICY, tag),
    ).toMatchObject({ act: false });
    expect(judgeFinding(simulatedFinding(base), DEFAULT_FINDING_POLICY, 'other:tag')).toMatchObject(
      { act: false },
    );
    // Brute-forced from outside, the lease is the victim (GuardDuty's resource role TARGET).
    expect(
      judgeFinding(
        simulatedFinding({
          ...base,
          type: 'UnauthorizedAccess:EC2/SSHBruteForce',
          resourceRole: 'TARGET',
        }),
        DEFAULT_FINDING_POLICY,
        tag,
      ),
    ).toMatchObject({ act: false, why: expect.stringMatching(/target/) });
  });
});
