import { ApiProblem } from '../../lambdas/core/errors.js';
import type { ExtensionRecord, MachineRecord } from '../../lambdas/core/machine.js';
import type { PaymentAttempt } from '../../lambdas/core/payment-records.js';
import {
  concludePaidExtension,
  extensionRefundKey,
  finishEarlierExtensionAttempts,
  refundExtension,
} from '../../lambdas/core/use-cases/conclude-extension.js';
import { type MoneyWorld, moneyTable } from '../support/money-world.js';

/**
 * A taken extension payment ends as an applied extension or as one owed back and refunded,
 * in one write on the machine; a refund that fails leaves the debt for the sweeper.
 */
const MINUTE = 60_000;
const payment = { method: 'test', reference: 'pay_ext', receipt_header: 'receipt-ext' };
const paid = (extensionKey: string, leaseMinutesBefore = 60) => ({
  extension_key: extensionKey,
  additional_minutes: 10,
  lease_minutes_before: leaseMinutesBefore,
});

describe('concluding a paid extension', () => {
  let table: Awaited<ReturnType<typeof moneyTable>>;
  let world: MoneyWorld;
  beforeAll(async () => {
    table = await moneyTable();
  });
  afterAll(() => table.close());
  beforeEach(() => {
    world = table.fresh();
  });

  const conclude = (machine: MachineRecord, key: string, before = 60, attemptKey?: string) =>
    concludePaidExtension(
      world.storefront,
      machine.machine_id,
      paid(key, before),
      payment,
      50,
      attemptKey,
    );

  it('applies it to the lease it was priced for and wakes the workflow', async () => {
    const machine = await world.activeMachine();
    const conclusion = await conclude(machine, 'ext-1');
    expect(conclusion.kind).toBe('applied');
    if (conclusion.kind !== 'applied') return;
    expect(conclusion.machine.lease_minutes).toBe(70);
    expect(conclusion.extension).toEqual({
      machine_id: machine.machine_id,
      extension_key: 'ext-1',
      additional_minutes: 10,
      lease_minutes_after: 70,
      applied_at: world.clock.now().toISOString(),
      payment,
      amount_cents: 50,
    });
    const item = await world.machineItem(machine.machine_id);
    expect(item.expires_at).toBe(
      new Date(Date.parse(machine.expires_at) + 10 * MINUTE).toISOString(),
    );
    expect(world.leases.extended.map((m) => m.machine_id)).toEqual([machine.machine_id]);
    expect(world.refunds.calls).toEqual([]);
    expect(
      world.log.entries.find((entry) => entry.event === 'lease.extended')?.fields,
    ).toMatchObject({ lease_minutes: 70, amount_cents: 50, method: 'test' });
  });

  it('still applies it when the workflow cannot be woken', async () => {
    const machine = await world.activeMachine();
    world.leases.failExtensionWake = new Error('throttled');
    expect((await conclude(machine, 'ext-wake')).kind).toBe('applied');
    expect((await world.machineItem(machine.machine_id)).lease_minutes).toBe(70);
    // The operator needs the machine whose workflow may wake late, and why.
    expect(
      world.log.entries.find((entry) => entry.event === 'lease.extension_wake_failed')?.fields,
    ).toEqual({ machine_id: machine.machine_id, error: 'Error: throttled' });
  });

  it('removes the concluded attempt in the same write', async () => {
    const machine = await world.activeMachine();
    const now = world.clock.now();
    const attempt: PaymentAttempt = {
      key: 'attempt-1',
      challenge_id: 'c',
      method: 'test',
      external_id: 'x',
      amount_cents: 50,
      started_at: now.toISOString(),
      owner: 'o',
    };
    await world.machines.lockForExtension(machine.machine_id, 'o', now, now, attempt);
    await conclude(machine, 'ext-attempt', 60, 'attempt-1');
    expect((await world.machineItem(machine.machine_id)).extension_attempts).toEqual({});
  });

  it('owes back and refunds a payment for a lease that changed since its challenge', async () => {
    const machine = await world.activeMachine({ lease_minutes: 65 });
    const conclusion = await conclude(machine, 'ext-changed', 60);
    expect(conclusion).toMatchObject({
      kind: 'refund_due',
      extension: { refund_due: true, refund_due_since: world.clock.now().toISOString() },
      refund: { status: 'refunded', amount_cents: 50 },
    });
    expect(world.refunds.calls).toEqual([
      {
        payment,
        amountCents: 50,
        idempotencyKey: `refund-${machine.machine_id}-ext-changed`,
        reason: 'the lease changed while the extension was being paid',
      },
    ]);
    const item = await world.machineItem(machine.machine_id);
    expect(item.lease_minutes).toBe(65);
    const stored = (item.extensions as Record<string, ExtensionRecord>)['ext-changed'];
    expect(stored?.refund).toMatchObject({
      status: 'refunded',
      amount_cents: 50,
      reference: 're_1',
    });
    expect(stored?.refund_due).toBeUndefined();
    expect(item.sweep_pk).toBeDefined();
    expect(world.leases.extended).toEqual([]);
    // The operator's trace of a payment taken and not applied: which machine, which extension.
    expect(
      world.log.entries.find((entry) => entry.event === 'lease.extension_not_applied')?.fields,
    ).toEqual({ machine_id: machine.machine_id, key: 'ext-changed' });
  });

  it('owes back a payment for a lease that has ended', async () => {
    const machine = await world.activeMachine({ status: 'terminating' });
    expect((await conclude(machine, 'ext-ended')).kind).toBe('refund_due');
    expect(world.refunds.keys()).toEqual([`refund-${machine.machine_id}-ext-ended`]);
  });

  it('owes back a payment for a lease whose end has come', async () => {
    const machine = await world.activeMachine({
      expires_at: world.clock.now().toISOString(),
    });
    expect((await conclude(machine, 'ext-due')).kind).toBe('refund_due');
    expect((await world.machineItem(machine.machine_id)).lease_minutes).toBe(60);
  });

  it('leaves the debt on the record when the refund fails, for the sweeper', async () => {
    const machine = await world.activeMachine({ status: 'terminated' });
    world.refunds.answers.push(new Error('stripe down'));
    const conclusion = await conclude(machine, 'ext-failing');
    expect(conclusion).toEqual({
      kind: 'refund_due',
      extension: expect.objectContaining({ refund_due: true }),
    });
    const stored = (
      (await world.machineItem(machine.machine_id)).extensions as Record<string, ExtensionRecord>
    )['ext-failing'];
    expect(stored).toMatchObject({ refund_due: true, amount_cents: 50 });
    expect(stored?.refund).toBeUndefined();
    expect(
      world.log.entries.find((e) => e.event === 'lease.extension_refund_failed')?.fields,
    ).toMatchObject({
      payment_reference: 'pay_ext',
      error: 'Error: stripe down',
    });
  });

  it('reports what an earlier run of the same conclusion stored, and refunds nothing twice', async () => {
    const machine = await world.activeMachine({ status: 'terminated' });
    await conclude(machine, 'ext-twice');
    const again = await conclude(machine, 'ext-twice');
    expect(again).toMatchObject({
      kind: 'refund_due',
      extension: { refund: { status: 'refunded' } },
    });
    expect(world.refunds.calls).toHaveLength(1);
  });

  it('reports an extension an earlier run applied as applied, even if the lease moved on', async () => {
    const machine = await world.activeMachine();
    await conclude(machine, 'ext-applied');
    // The same payment concluded again (a retried recovery): the lease is now 70 minutes long.
    const again = await conclude(machine, 'ext-applied');
    expect(again).toMatchObject({
      kind: 'applied',
      machine: { lease_minutes: 70 },
      extension: { extension_key: 'ext-applied', amount_cents: 50 },
    });
    expect(world.refunds.calls).toEqual([]);
    expect((await world.machineItem(machine.machine_id)).lease_minutes).toBe(70);
  });

  it('refunds nothing for an unknown machine (nothing can be recorded against it)', async () => {
    const conclusion = await concludePaidExtension(
      world.storefront,
      'machine_ffffffffffffffff',
      paid('ext-nowhere'),
      payment,
      50,
      undefined,
    );
    expect(conclusion).toMatchObject({ kind: 'refund_due', extension: { refund_due: true } });
    expect(world.refunds.calls).toEqual([]);
  });

  describe('refundExtension', () => {
    const owed = (
      machineId: string,
      overrides: Partial<ExtensionRecord> = {},
    ): ExtensionRecord => ({
      machine_id: machineId,
      extension_key: 'owed',
      additional_minutes: 10,
      lease_minutes_after: 70,
      applied_at: 'then',
      payment,
      amount_cents: 50,
      refund_due: true,
      ...overrides,
    });

    it('asks nothing of the provider for an extension that took no money', async () => {
      const machine = await world.activeMachine();
      expect(
        await refundExtension(world.storefront, owed(machine.machine_id, { payment: undefined })),
      ).toBeUndefined();
      expect(
        await refundExtension(world.storefront, owed(machine.machine_id, { amount_cents: 0 })),
      ).toBeUndefined();
      expect(world.refunds.calls).toEqual([]);
    });

    it('records nothing when the provider answers with no refund', async () => {
      const machine = await world.activeMachine();
      await world.machines.recordUnappliedExtension(owed(machine.machine_id), 'now');
      world.refunds.answers.push('nothing');
      expect(
        await refundExtension(world.storefront, owed(machine.machine_id), 'why'),
      ).toBeUndefined();
      expect(world.refunds.calls[0]?.reason).toBe('why');
      const stored = (
        (await world.machineItem(machine.machine_id)).extensions as Record<string, ExtensionRecord>
      ).owed;
      expect(stored?.refund_due).toBe(true);
      expect(world.log.entries.map((e) => e.event)).not.toContain('lease.extension_refunded');
    });

    it('records a pending refund and logs it', async () => {
      const machine = await world.activeMachine();
      await world.machines.recordUnappliedExtension(owed(machine.machine_id), 'now');
      world.refunds.answers.push('pending');
      const refund = await refundExtension(world.storefront, owed(machine.machine_id));
      expect(refund).toMatchObject({ status: 'pending', amount_cents: 50 });
      const stored = (
        (await world.machineItem(machine.machine_id)).extensions as Record<string, ExtensionRecord>
      ).owed;
      expect(stored?.refund?.status).toBe('pending');
      expect(
        world.log.entries.find((e) => e.event === 'lease.extension_refunded')?.fields,
      ).toMatchObject({
        status: 'pending',
        reference: 're_1',
      });
    });
  });

  describe('finishing earlier extension attempts', () => {
    async function lockedWith(attempts: PaymentAttempt[]) {
      const machine = await world.activeMachine();
      for (const attempt of attempts) {
        // Each recorded under a lock that lapses at once, as a request that died leaves it.
        world.clock.advance(1);
        const now = world.clock.now();
        await world.machines.lockForExtension(machine.machine_id, attempt.owner, now, now, attempt);
      }
      world.clock.advance(1000);
      const later = world.clock.now();
      const locked = await world.machines.lockForExtension(
        machine.machine_id,
        'me',
        new Date(later.getTime() + MINUTE),
        later,
      );
      if (!locked) throw new Error('not locked');
      return locked;
    }
    const attempt = (key: string, owner: string, extensionKey?: string): PaymentAttempt => ({
      key,
      challenge_id: `challenge-${key}`,
      method: 'test',
      external_id: 'x',
      amount_cents: 50,
      started_at: 'then',
      owner,
      ...(extensionKey ? { extension: paid(extensionKey) } : {}),
    });

    it('forgets attempts that took no money, and asks nothing about its own', async () => {
      const locked = await lockedWith([
        attempt('gone', 'dead-request', 'e1'),
        attempt('mine', 'me', 'e2'),
      ]);
      expect(await finishEarlierExtensionAttempts(world.storefront, locked, 'me')).toEqual([]);
      expect(world.payments.recovered.map((a) => a.key)).toEqual(['gone']);
      // What the provider said of each attempt, on the machine it was for.
      expect(
        world.log.entries
          .filter((entry) => entry.event === 'lease.extension_attempt_recovered')
          .map((entry) => entry.fields),
      ).toEqual([
        { machine_id: locked.machine_id, challenge_id: 'challenge-gone', outcome: 'not_charged' },
      ]);
      const item = await world.machineItem(locked.machine_id);
      expect(Object.keys(item.extension_attempts as object)).toEqual(['mine']);
      expect(item.extension_lock_owner).toBe('me');
    });

    it('concludes an attempt that was charged, with the amount it was charged', async () => {
      const locked = await lockedWith([attempt('charged', 'dead-request', 'e3')]);
      world.payments.recoveries.set('charged', { kind: 'charged', payment });
      const concluded = await finishEarlierExtensionAttempts(world.storefront, locked, 'me');
      expect(concluded).toMatchObject([
        { kind: 'applied', extension: { extension_key: 'e3', amount_cents: 50 } },
      ]);
      const item = await world.machineItem(locked.machine_id);
      expect(item.extension_attempts).toEqual({});
      expect(item.lease_minutes).toBe(70);
    });

    it('forgets a charged attempt that names no extension (nothing to apply it to)', async () => {
      const locked = await lockedWith([attempt('bare', 'dead-request')]);
      world.payments.recoveries.set('bare', { kind: 'charged', payment });
      expect(await finishEarlierExtensionAttempts(world.storefront, locked, 'me')).toEqual([]);
      expect((await world.machineItem(locked.machine_id)).extension_attempts).toEqual({});
    });

    it('stops, releasing the lock, at an attempt the provider cannot answer for yet', async () => {
      const locked = await lockedWith([attempt('unknown', 'dead-request', 'e4')]);
      world.payments.recoveries.set('unknown', { kind: 'unknown', reason: 'processing' });
      const stopped = await finishEarlierExtensionAttempts(world.storefront, locked, 'me').catch(
        (error: unknown) => error,
      );
      expect(stopped).toBeInstanceOf(ApiProblem);
      expect((stopped as ApiProblem).kind).toBe('payment_in_progress');
      // What the agent acts on: wait, then retry the same request, without fear of paying twice.
      expect((stopped as ApiProblem).message).toBe(
        'an earlier extension payment for this machine is still being confirmed with the payment provider; retry the same request in a minute (it will not be charged twice)',
      );
      const item = await world.machineItem(locked.machine_id);
      expect(Object.keys(item.extension_attempts as object)).toEqual(['unknown']);
      expect(item.extension_lock_owner).toBeUndefined();
    });
  });

  it('derives one refund key per machine and extension', () => {
    expect(extensionRefundKey('machine_1', 'ext')).toBe('refund-machine_1-ext');
  });
});
