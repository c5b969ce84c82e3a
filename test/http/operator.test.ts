import { localOperatorContext } from '../../bin/operator-context.js';
import { sshKeyFingerprint } from '../../lambdas/core/blocks.js';
import { causeRefundKey } from '../../lambdas/core/end-for-cause.js';
import { payCauseRefunds } from '../../lambdas/core/use-cases/end-lease-for-cause.js';
import { sweepPayments } from '../../lambdas/core/use-cases/sweep-payments.js';
import { runOperatorCommand } from '../../lambdas/operator/operator-commands.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';
import { buyMachine, type Harness, orderBody, startHarness } from '../support/harness.js';
import { ed25519Key } from '../support/ssh-keys.js';

describe('npm run operator (against the running local storefront, over its endpoints)', () => {
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

  it('blocks, lists and unblocks an SSH key; a blocked key is refused before any challenge', async () => {
    const key = ed25519Key();
    const [blocked] = await run('block', 'ssh-key', key, '--reason', 'spam', '--for-days', '7');
    expect(blocked.blocked).toMatchObject({
      kind: 'ssh_key',
      value: sshKeyFingerprint(key),
      reason: 'spam',
      blocked_by: 'test-operator',
      expires_at: expect.any(String),
    });
    const refused = await api.order(orderBody({ ssh_public_key: key }));
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toBeNull();
    expect(await run('blocks')).toContainEqual(
      expect.objectContaining({ value: sshKeyFingerprint(key), in_force: true }),
    );
    expect(await run('unblock', 'ssh-key', sshKeyFingerprint(key))).toEqual([
      expect.objectContaining({ existed: true }),
    ]);
    expect((await api.order(orderBody({ ssh_public_key: key }))).status).toBe(402);
  });

  it('refuses a block without a reason, or of a value that is not one', async () => {
    await expect(run('block', 'ssh-key', ed25519Key())).rejects.toThrow(/--reason/);
    await expect(run('block', 'client-range', '10.0.0.0/40', '--reason', 'x')).rejects.toThrow(
      /prefix length/,
    );
  });

  it('ends a lease for cause through its workflow; the agent reads terminated and why', async () => {
    const bought = await buyMachine(api);
    await api.waitForStatus(bought.machineId, bought.tokens.read_token, ['active']);
    const [ended] = await run(
      'end',
      bought.machineId,
      '--reason',
      'port scanning reported by a third party',
      '--refund',
      'unused',
    );
    expect(ended).toMatchObject({ status: 'terminating', refund: 'unused' });
    // 60 minutes bought, a few seconds used: 59 unused minutes at 5¢.
    expect(ended.refund_cents).toBe(59 * 5);
    const read = await api.waitForStatus(bought.machineId, bought.tokens.read_token, [
      'terminated',
    ]);
    expect(read.body.failure_reason).toBe(
      `ended for cause under the acceptable-use policy (${api.url}/acceptable-use): port scanning reported by a third party`,
    );

    // Run again (a crash before the wake, an operator's second try, another refund mode): the
    // first decision stands and nothing more is owed.
    const [again] = await run('end', bought.machineId, '--reason', 'x', '--refund', 'full');
    expect(again.end_cause).toMatchObject({ refund: 'unused' });

    // The sweeper pays the refund once, however often it runs.
    await sweepPayments(api.storefront);
    await sweepPayments(api.storefront);
    const machine = await api.storefront.machines.get(bought.machineId, new Date(0));
    expect(machine?.cause_refunds?.order?.refund).toMatchObject({
      status: 'refunded',
      amount_cents: 59 * 5,
    });
  });

  it('refunds nothing with --refund none, everything with --refund full', async () => {
    for (const [refund, cents] of [
      ['none', 0],
      ['full', 399],
    ] as const) {
      const bought = await buyMachine(api);
      await api.waitForStatus(bought.machineId, bought.tokens.read_token, ['active']);
      const [ended] = await run('end', bought.machineId, '--reason', 'mining', '--refund', refund);
      expect(ended.refund_cents).toBe(cents);
      await api.waitForStatus(bought.machineId, bought.tokens.read_token, ['terminated']);
    }
  });

  it('answers a machine that is not live without changing it', async () => {
    const bought = await buyMachine(api);
    await api.waitForStatus(bought.machineId, bought.tokens.read_token, ['active']);
    await api.terminate(bought.machineId, bought.tokens.terminate_token);
    await api.waitForStatus(bought.machineId, bought.tokens.read_token, ['terminated']);
    const [answer] = await run('end', bought.machineId, '--reason', 'late', '--refund', 'full');
    expect(answer.note).toMatch(/not live/);
    const read = await api.machine(bought.machineId, bought.tokens.read_token);
    expect(read.body.failure_reason).toBeUndefined();
  });
});

describe('a for-cause refund, through crashes', () => {
  it('is asked for with one idempotency key and one amount, however often it is retried', async () => {
    const asked: { key: string; cents: number }[] = [];
    let recordFails = true;
    const machine = {
      machine_id: 'machine_0123456789abcdef',
      end_cause: { reason: 'mining', refund: 'unused', ended_by: 'op', ended_at: '' },
      cause_refunds: {
        order: { payment: { method: 'test', reference: 'p1' }, amount_cents: 295 },
      },
    } as unknown as Parameters<typeof payCauseRefunds>[1];
    const deps = {
      refunds: {
        refund: async (input: { idempotencyKey: string; amountCents: number }) => {
          asked.push({ key: input.idempotencyKey, cents: input.amountCents });
          return {
            status: 'refunded' as const,
            amount_cents: input.amountCents,
            reference: `r-${input.idempotencyKey}`,
            refunded_at: '',
          };
        },
      },
      machines: {
        recordCauseRefund: async () => {
          if (recordFails) {
            recordFails = false;
            throw new Error('crash after the provider refunded, before the record');
          }
          return true;
        },
      },
      log: memoryLogger(),
    };
    expect(await payCauseRefunds(deps, machine)).toBe(1);
    expect(await payCauseRefunds(deps, machine)).toBe(0);
    expect(new Set(asked.map((ask) => ask.key))).toEqual(
      new Set([causeRefundKey(machine.machine_id, 'order')]),
    );
    expect(new Set(asked.map((ask) => ask.cents))).toEqual(new Set([295]));
  });
});
