import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { itemKeys } from '../../lambdas/adapters/dynamodb/table-design.js';
import { ApiProblem } from '../../lambdas/core/errors.js';
import type { ExtensionRecord, MachineRecord } from '../../lambdas/core/machine.js';
import type { OrderRecord } from '../../lambdas/core/order.js';
import type { PaymentAttempt, RefundRecord } from '../../lambdas/core/payment-records.js';
import type { AttemptRecovery } from '../../lambdas/core/ports.js';
import { extendLease } from '../../lambdas/core/use-cases/extend-lease.js';
import { type SweepReport, sweepPayments } from '../../lambdas/core/use-cases/sweep-payments.js';
import { orderFixture } from '../support/fixtures.js';
import { credential, type MoneyWorld, moneyTable } from '../support/money-world.js';

/**
 * The payment sweeper over the real stores (dynalite, emptied before each test: the sweeper
 * reads the whole sweep index) with scripted payment and refund methods: each listed order or machine ends
 * settled with its machine, forgotten, refunded, or listed again for a later look, and the
 * report counts exactly what happened.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOTHING: SweepReport = {
  settled: 0,
  forgotten: 0,
  machines_started: 0,
  refunded: 0,
  waiting: 0,
  refunds_owed_over_an_hour: 0,
  failed: 0,
};
const refundRecord = (status: RefundRecord['status'], amount = 399): RefundRecord => ({
  status,
  amount_cents: amount,
  reference: 're_old',
  refunded_at: 'then',
});

describe('the payment sweeper', () => {
  let table: Awaited<ReturnType<typeof moneyTable>>;
  let world: MoneyWorld;
  let serial = 0;
  beforeAll(async () => {
    table = await moneyTable();
  });
  afterAll(() => table.close());
  beforeEach(async () => {
    await table.empty();
    world = table.fresh();
  });

  const sweep = () => sweepPayments(world.storefront);
  const at = (offset: number) => new Date(world.clock.now().getTime() + offset).toISOString();
  /** Where the item is listed for the sweeper: its check time, or undefined when off the list. */
  const listedAt = (item: Record<string, unknown>) =>
    typeof item.sweep_sk === 'string' ? item.sweep_sk.split('#')[0] : undefined;

  /** Runs `meanwhile` inside the sweeper's first recovery call, before the provider answers. */
  function duringRecovery(meanwhile: () => Promise<void>) {
    const recover = world.payments.recover.bind(world.payments);
    world.payments.recover = async (attempt) => {
      world.payments.recover = recover;
      await meanwhile();
      return recover(attempt);
    };
  }
  const lockMs = () => world.storefront.settings.paymentLockSeconds * 1000;

  async function unpaidOrder(overrides: Partial<OrderRecord> = {}): Promise<OrderRecord> {
    serial++;
    const now = world.clock.now();
    return world.orders.open(
      orderFixture(
        {
          order_id: `order_${String(serial).padStart(32, 'b')}`,
          ssh_public_key: 'ssh-ed25519 AAAA',
          ...overrides,
        },
        now,
      ),
      now,
    );
  }

  /** An unpaid order with an attempt a request that died left behind (its lock lapsed). */
  async function orderWithAttempt(recovery?: AttemptRecovery): Promise<OrderRecord> {
    const order = await unpaidOrder();
    const now = world.clock.now();
    const attempt: PaymentAttempt = {
      key: `attempt-${order.order_id}`,
      challenge_id: 'c',
      method: 'test',
      external_id: order.order_id,
      amount_cents: 399,
      started_at: now.toISOString(),
      owner: 'a-request-that-died',
    };
    await world.orders.lockForPayment(order.order_id, attempt.owner, now, now, attempt);
    if (recovery) world.payments.recoveries.set(attempt.key, recovery);
    world.clock.advance(1000);
    return order;
  }

  /** A settled order, listed for the sweeper now, with its machine in the state given. */
  async function settledOrder(
    machine?: Partial<MachineRecord>,
    order: Partial<OrderRecord> = {},
  ): Promise<{ order: OrderRecord; machineId: string }> {
    const opened = await unpaidOrder(order);
    const now = world.clock.now();
    const machineId = `machine_${String(serial).padStart(16, '0')}`;
    const settled = await world.orders.settle(opened.order_id, {
      payment: { method: 'test', reference: `pay_${serial}` },
      machineId,
      settledAt: now.toISOString(),
      checkAt: now.toISOString(),
    });
    if (!settled) throw new Error('not settled');
    if (machine) {
      await world.activeMachine({ machine_id: machineId, order_id: opened.order_id, ...machine });
    }
    return { order: settled, machineId };
  }

  it('does nothing, and reports nothing, when nothing is listed', async () => {
    expect(await sweep()).toEqual(NOTHING);
    expect(world.log.entries.map((e) => e.event)).not.toContain('sweep.report');
  });

  it('takes an unpaid order without attempts off its list', async () => {
    const order = await unpaidOrder();
    await world.orders.scheduleSweep(order.order_id, at(0));
    expect(await sweep()).toEqual(NOTHING);
    expect(listedAt(await world.orderItem(order.order_id))).toBeUndefined();
  });

  it('forgets an attempt that took no money and takes the order off the list', async () => {
    const order = await orderWithAttempt({ kind: 'not_charged' });
    expect(await sweep()).toEqual({ ...NOTHING, forgotten: 1 });
    const item = await world.orderItem(order.order_id);
    expect(item.payment_attempts).toEqual({});
    expect(item.payment_lock_owner).toBeUndefined();
    expect(listedAt(item)).toBeUndefined();
    expect(world.log.entries.find((e) => e.event === 'sweep.report')?.fields).toMatchObject({
      forgotten: 1,
    });
  });

  it('settles an order from an attempt that took money and creates its machine', async () => {
    const order = await orderWithAttempt({
      kind: 'charged',
      payment: { method: 'test', reference: 'pay_lost_answer', receipt_header: 'r' },
    });
    expect(await sweep()).toEqual({ ...NOTHING, settled: 1, machines_started: 1 });
    const item = await world.orderItem(order.order_id);
    expect(item).toMatchObject({ status: 'settled', payment: { reference: 'pay_lost_answer' } });
    const machine = await world.machines.get(String(item.machine_id), world.clock.now());
    expect(machine).toMatchObject({
      status: 'provisioning',
      billing: 'paid',
      order_id: order.order_id,
    });
    expect(world.leases.started).toEqual([item.machine_id]);
    // Looked at again to check that the machine runs.
    expect(listedAt(item)).toBe(at(3 * MINUTE));
    expect(world.refunds.calls).toEqual([]);
  });

  it('waits for an attempt the provider cannot answer for yet', async () => {
    const order = await orderWithAttempt({ kind: 'unknown', reason: 'processing' });
    expect(await sweep()).toEqual({ ...NOTHING, waiting: 1 });
    const item = await world.orderItem(order.order_id);
    expect(Object.keys(item.payment_attempts as object)).toHaveLength(1);
    expect(listedAt(item)).toBe(at(2 * MINUTE));
  });

  it('counts an attempt whose recovery breaks as failed, not waiting', async () => {
    const order = await orderWithAttempt();
    world.payments.recover = async () => {
      throw new Error('provider unreachable');
    };
    expect(await sweep()).toEqual({ ...NOTHING, failed: 1 });
    expect(listedAt(await world.orderItem(order.order_id))).toBe(at(2 * MINUTE));
  });

  it('counts an attempt whose recovery is refused for any reason but "in progress" as failed', async () => {
    const order = await orderWithAttempt();
    world.payments.recover = async () => {
      throw new ApiProblem('unavailable', 'the provider refuses to answer');
    };
    // Only a payment still in progress is worth waiting for; anything else must reach the
    // failure count and log that the operator's alarm watches.
    expect(await sweep()).toEqual({ ...NOTHING, failed: 1 });
    expect(listedAt(await world.orderItem(order.order_id))).toBe(at(2 * MINUTE));
    expect(world.log.entries.find((e) => e.event === 'sweep.order_failed')?.fields).toEqual({
      order_id: order.order_id,
      error: 'ApiProblem: the provider refuses to answer',
    });
  });

  it('holds the payment lock for paymentLockSeconds while it asks about an attempt', async () => {
    const order = await orderWithAttempt({ kind: 'not_charged' });
    const lockedAt = world.clock.now();
    let meanwhile: unknown = 'not tried';
    duringRecovery(async () => {
      // A paying request comes just before the sweeper's lock would lapse: it must not get in
      // between the sweeper's look at the attempt and what it does with the answer.
      world.clock.advance(lockMs() - 1000);
      const now = world.clock.now();
      meanwhile = await world.orders.lockForPayment(
        order.order_id,
        'a-paying-request',
        new Date(now.getTime() + lockMs()),
        now,
      );
      expect((await world.orderItem(order.order_id)).payment_lock_until).toBe(
        lockedAt.getTime() + lockMs(),
      );
    });
    expect(await sweep()).toEqual({ ...NOTHING, forgotten: 1 });
    expect(meanwhile).toBeUndefined();
    const item = await world.orderItem(order.order_id);
    expect(item.payment_attempts).toEqual({});
    expect(item.payment_lock_owner).toBeUndefined();
  });

  it('leaves an order alone while a request holds its payment lock', async () => {
    const order = await orderWithAttempt({ kind: 'not_charged' });
    const now = world.clock.now();
    await world.orders.lockForPayment(
      order.order_id,
      'live-request',
      new Date(now.getTime() + MINUTE),
      now,
    );
    expect(await sweep()).toEqual(NOTHING);
    expect(world.payments.recovered).toEqual([]);
    const item = await world.orderItem(order.order_id);
    expect(Object.keys(item.payment_attempts as object)).toHaveLength(1);
    expect(item.payment_lock_owner).toBe('live-request');
  });

  it('starts the workflow of a settled order whose machine is still provisioning', async () => {
    const { order, machineId } = await settledOrder({ status: 'provisioning' });
    expect(await sweep()).toEqual(NOTHING);
    expect(world.leases.started).toEqual([machineId]);
    expect(listedAt(await world.orderItem(order.order_id))).toBe(at(3 * MINUTE));
  });

  it('takes a settled order whose machine runs off the list', async () => {
    const { order } = await settledOrder({ status: 'active' });
    expect(await sweep()).toEqual(NOTHING);
    expect(listedAt(await world.orderItem(order.order_id))).toBeUndefined();
    expect(world.leases.started).toEqual([]);
  });

  it('creates the machine of a settled order that has none (a crash between settle and create)', async () => {
    const { order, machineId } = await settledOrder();
    expect(await sweep()).toEqual({ ...NOTHING, machines_started: 1 });
    expect(await world.machines.get(machineId, world.clock.now())).toMatchObject({
      status: 'provisioning',
    });
    expect(listedAt(await world.orderItem(order.order_id))).toBe(at(3 * MINUTE));
    expect(world.log.entries.find((e) => e.event === 'sweep.machine_created')?.fields).toEqual({
      order_id: order.order_id,
      machine_id: machineId,
    });
  });

  it('counts a settled order it cannot finish as failed and looks again later', async () => {
    const { order } = await settledOrder(undefined, { ssh_public_key: undefined });
    expect(await sweep()).toEqual({ ...NOTHING, failed: 1 });
    expect(listedAt(await world.orderItem(order.order_id))).toBe(at(2 * MINUTE));
    expect(world.log.entries.find((e) => e.event === 'sweep.order_failed')?.fields).toEqual({
      order_id: order.order_id,
      error: `Error: order ${order.order_id} has no machine and no key to create it with`,
    });
  });

  it('counts a settled order that names no machine as failed, naming the order', async () => {
    const { order } = await settledOrder();
    // Settling always records the machine id: only a damaged record lacks it.
    await table.table.db.send(
      new UpdateCommand({
        TableName: table.table.tableName,
        Key: itemKeys.order(order.order_id),
        UpdateExpression: 'REMOVE machine_id',
      }),
    );
    expect(await sweep()).toEqual({ ...NOTHING, failed: 1 });
    expect(listedAt(await world.orderItem(order.order_id))).toBe(at(2 * MINUTE));
    expect(world.log.entries.find((e) => e.event === 'sweep.order_failed')?.fields).toEqual({
      order_id: order.order_id,
      error: `Error: settled order ${order.order_id} has no machine id`,
    });
    expect(world.refunds.calls).toEqual([]);
  });

  it('takes a settled order whose lease ended before it ran off the list, refunding nothing', async () => {
    // Ended by its agent while provisioning: the unused minutes are the machine's refund (its
    // own sweep pays them); the order owes nothing and is not waited on.
    const { order } = await settledOrder({ status: 'terminated', activated_at: undefined });
    expect(await sweep()).toEqual(NOTHING);
    expect(world.refunds.calls).toEqual([]);
    expect(listedAt(await world.orderItem(order.order_id))).toBeUndefined();
  });

  describe('a settled order whose lease failed before use', () => {
    it('is refunded and taken off the list', async () => {
      const { order } = await settledOrder({
        status: 'failed',
        activated_at: undefined,
        refund_due: true,
      });
      expect(await sweep()).toEqual({ ...NOTHING, refunded: 1 });
      expect(world.refunds.calls).toMatchObject([
        { amountCents: 399, idempotencyKey: `refund-${order.order_id}` },
      ]);
      const item = await world.orderItem(order.order_id);
      expect(item.refund).toMatchObject({ status: 'refunded' });
      expect(listedAt(item)).toBeUndefined();
    });

    it('waits for a refund still pending, and counts it owed over an hour once it is', async () => {
      const { order } = await settledOrder({
        status: 'failed',
        activated_at: undefined,
        terminated_at: world.clock.now().toISOString(),
      });
      world.refunds.otherwise = 'pending';
      expect(await sweep()).toEqual({ ...NOTHING, refunded: 1, waiting: 1 });
      expect(listedAt(await world.orderItem(order.order_id))).toBe(at(3 * MINUTE));

      world.clock.advance(HOUR);
      expect(await sweep()).toEqual({ ...NOTHING, waiting: 1 });
      world.clock.advance(3 * MINUTE);
      expect(await sweep()).toEqual({ ...NOTHING, waiting: 1, refunds_owed_over_an_hour: 1 });
      // Each look asked the provider again, under the one key.
      expect(new Set(world.refunds.keys())).toEqual(new Set([`refund-${order.order_id}`]));
    });

    it('counts the hour from the machine creation when no end is recorded', async () => {
      await settledOrder({ status: 'failed', activated_at: undefined, terminated_at: undefined });
      world.refunds.otherwise = new Error('provider down');
      world.clock.advance(HOUR + 1);
      expect(await sweep()).toMatchObject({ failed: 1 });
      world.refunds.otherwise = 'pending';
      world.clock.advance(2 * MINUTE);
      expect(await sweep()).toMatchObject({ waiting: 1, refunds_owed_over_an_hour: 1 });
    });

    it('is not refunded when the lease was used (it was activated)', async () => {
      const { order } = await settledOrder({
        status: 'failed',
        activated_at: world.clock.now().toISOString(),
      });
      expect(await sweep()).toEqual(NOTHING);
      expect(world.refunds.calls).toEqual([]);
      expect(listedAt(await world.orderItem(order.order_id))).toBeUndefined();
    });

    it('is not refunded when it was not paid for', async () => {
      await settledOrder({ status: 'failed', activated_at: undefined, billing: 'unpaid' });
      expect(await sweep()).toEqual(NOTHING);
      expect(world.refunds.calls).toEqual([]);
    });
  });

  describe('a second payment for a settled order', () => {
    async function withDuplicate(
      refund?: RefundRecord,
      dueSince = world.clock.now().toISOString(),
    ) {
      const settled = await settledOrder({ status: 'active' });
      await world.orders.recordDuplicatePayment(
        settled.order.order_id,
        {
          payment: { method: 'test', reference: 'pay_dup' },
          amount_cents: 399,
          due_since: dueSince,
          ...(refund ? { refund } : {}),
        },
        at(0),
      );
      return settled;
    }

    it('is refunded under its own key, and the order taken off the list', async () => {
      const { order } = await withDuplicate();
      expect(await sweep()).toEqual({ ...NOTHING, refunded: 1 });
      expect(world.refunds.calls).toMatchObject([
        { amountCents: 399, idempotencyKey: 'refund-duplicate-pay_dup' },
      ]);
      expect(listedAt(await world.orderItem(order.order_id))).toBeUndefined();
    });

    it('is not refunded again once refunded', async () => {
      const { order } = await withDuplicate(refundRecord('refunded'));
      expect(await sweep()).toEqual(NOTHING);
      expect(world.refunds.calls).toEqual([]);
      expect(listedAt(await world.orderItem(order.order_id))).toBeUndefined();
    });

    it('is asked about again while pending, and counted owed over an hour after it fell due', async () => {
      const { order } = await withDuplicate(
        refundRecord('pending'),
        new Date(world.clock.now().getTime() - HOUR).toISOString(),
      );
      world.refunds.otherwise = 'pending';
      expect(await sweep()).toEqual({ ...NOTHING, waiting: 1 });
      expect(listedAt(await world.orderItem(order.order_id))).toBe(at(2 * MINUTE));
      world.clock.advance(2 * MINUTE);
      expect(await sweep()).toEqual({ ...NOTHING, waiting: 1, refunds_owed_over_an_hour: 1 });
      expect(world.refunds.keys()).toEqual([
        'refund-duplicate-pay_dup',
        'refund-duplicate-pay_dup',
      ]);
    });
  });

  describe('a listed machine', () => {
    const paidExtension = (
      machineId: string,
      key: string,
      overrides: Partial<ExtensionRecord> = {},
    ): ExtensionRecord => ({
      machine_id: machineId,
      extension_key: key,
      additional_minutes: 10,
      lease_minutes_after: 70,
      applied_at: world.clock.now().toISOString(),
      payment: { method: 'test', reference: `pay_${key}` },
      amount_cents: 50,
      refund_due: true,
      refund_due_since: world.clock.now().toISOString(),
      ...overrides,
    });

    async function withExtensionAttempt(recovery?: AttemptRecovery, key = 'ext') {
      const machine = await world.activeMachine();
      const now = world.clock.now();
      const attempt: PaymentAttempt = {
        key: `attempt-${key}`,
        challenge_id: 'c',
        method: 'test',
        external_id: `${machine.machine_id}+60`,
        amount_cents: 50,
        started_at: now.toISOString(),
        owner: 'a-request-that-died',
        extension: { extension_key: key, additional_minutes: 10, lease_minutes_before: 60 },
      };
      await world.machines.lockForExtension(machine.machine_id, attempt.owner, now, now, attempt);
      if (recovery) world.payments.recoveries.set(attempt.key, recovery);
      world.clock.advance(1000);
      return machine;
    }

    it('applies an extension whose payment was taken, and takes the machine off the list', async () => {
      const machine = await withExtensionAttempt({
        kind: 'charged',
        payment: { method: 'test', reference: 'pay_ext', receipt_header: 'r' },
      });
      expect(await sweep()).toEqual({ ...NOTHING, settled: 1 });
      const item = await world.machineItem(machine.machine_id);
      expect(item.lease_minutes).toBe(70);
      expect(item.extension_attempts).toEqual({});
      expect(item.extension_lock_owner).toBeUndefined();
      expect(listedAt(item)).toBeUndefined();
    });

    it('refunds an extension paid for a lease that ended meanwhile', async () => {
      const machine = await withExtensionAttempt({
        kind: 'charged',
        payment: { method: 'test', reference: 'pay_late', receipt_header: 'r' },
      });
      await world.machines.requestTermination(machine.machine_id, world.clock.now());
      expect(await sweep()).toEqual({ ...NOTHING });
      expect(world.refunds.calls).toMatchObject([
        { amountCents: 50, idempotencyKey: `refund-${machine.machine_id}-ext` },
      ]);
      expect(listedAt(await world.machineItem(machine.machine_id))).toBeUndefined();
    });

    it('forgets an extension attempt that took no money', async () => {
      const machine = await withExtensionAttempt({ kind: 'not_charged' });
      expect(await sweep()).toEqual({ ...NOTHING, forgotten: 1 });
      const item = await world.machineItem(machine.machine_id);
      expect(item.extension_attempts).toEqual({});
      expect(item.lease_minutes).toBe(60);
      expect(listedAt(item)).toBeUndefined();
      expect(item.extension_lock_owner).toBeUndefined();
    });

    it('waits for an extension attempt the provider cannot answer for yet', async () => {
      const machine = await withExtensionAttempt({ kind: 'unknown', reason: 'processing' });
      expect(await sweep()).toEqual({ ...NOTHING, waiting: 1 });
      const item = await world.machineItem(machine.machine_id);
      expect(Object.keys(item.extension_attempts as object)).toEqual(['attempt-ext']);
      expect(listedAt(item)).toBe(at(2 * MINUTE));
    });

    it('counts an extension attempt whose recovery breaks as failed, not waiting', async () => {
      const machine = await withExtensionAttempt();
      world.payments.recover = async () => {
        throw new Error('provider unreachable');
      };
      expect(await sweep()).toEqual({ ...NOTHING, failed: 1 });
      expect(listedAt(await world.machineItem(machine.machine_id))).toBe(at(2 * MINUTE));
    });

    it('counts an extension attempt whose recovery is refused for any reason but "in progress" as failed', async () => {
      const machine = await withExtensionAttempt();
      world.payments.recover = async () => {
        throw new ApiProblem('unavailable', 'the provider refuses to answer');
      };
      expect(await sweep()).toEqual({ ...NOTHING, failed: 1 });
      expect(listedAt(await world.machineItem(machine.machine_id))).toBe(at(2 * MINUTE));
      expect(world.log.entries.find((e) => e.event === 'sweep.machine_failed')?.fields).toEqual({
        machine_id: machine.machine_id,
        error: 'ApiProblem: the provider refuses to answer',
      });
    });

    it('holds the extension lock for paymentLockSeconds while it concludes an attempt: an extension meanwhile is refused, not charged', async () => {
      const machine = await withExtensionAttempt({ kind: 'not_charged' });
      const lockedAt = world.clock.now();
      let meanwhile: unknown = 'not tried';
      duringRecovery(async () => {
        world.clock.advance(lockMs() - 1000);
        expect((await world.machineItem(machine.machine_id)).extension_lock_until).toBe(
          lockedAt.getTime() + lockMs(),
        );
        world.payments.presented = credential('meanwhile');
        meanwhile = await extendLease(
          world.storefront,
          new Request('http://storefront.test/api/machines/x/extend', { method: 'POST' }),
          machine.machine_id,
          `Bearer ${world.extendToken(machine)}`,
          { additional_minutes: 10 },
        ).catch((error: unknown) => error);
      });
      expect(await sweep()).toEqual({ ...NOTHING, forgotten: 1 });
      expect(meanwhile).toBeInstanceOf(ApiProblem);
      expect((meanwhile as ApiProblem).kind).toBe('payment_in_progress');
      expect(world.payments.charges).toEqual([]);
      const item = await world.machineItem(machine.machine_id);
      expect(item.lease_minutes).toBe(60);
      expect(item.extension_lock_owner).toBeUndefined();
    });

    it('leaves a machine alone while a request holds its extension lock', async () => {
      const machine = await withExtensionAttempt({ kind: 'not_charged' });
      const now = world.clock.now();
      await world.machines.lockForExtension(
        machine.machine_id,
        'live',
        new Date(now.getTime() + MINUTE),
        now,
      );
      expect(await sweep()).toEqual(NOTHING);
      expect(world.payments.recovered).toEqual([]);
      expect((await world.machineItem(machine.machine_id)).extension_lock_owner).toBe('live');
    });

    it('refunds an extension owed back while a request holds the extension lock, when no attempt is open', async () => {
      // The lock guards attempts only: with none to conclude, the sweeper neither needs it nor
      // waits for it, and a debt is not held up by a request extending the lease.
      const machine = await world.activeMachine();
      await world.machines.recordUnappliedExtension(
        paidExtension(machine.machine_id, 'owed-while-locked'),
        at(0),
      );
      const now = world.clock.now();
      await world.machines.lockForExtension(
        machine.machine_id,
        'live',
        new Date(now.getTime() + MINUTE),
        now,
      );
      expect(await sweep()).toEqual({ ...NOTHING, refunded: 1 });
      expect(world.refunds.keys()).toEqual([`refund-${machine.machine_id}-owed-while-locked`]);
      expect(world.payments.recovered).toEqual([]);
      const item = await world.machineItem(machine.machine_id);
      expect(item.extension_lock_owner).toBe('live');
      expect(listedAt(item)).toBeUndefined();
    });

    it('retries the refund of an extension owed back until the provider confirms it', async () => {
      const machine = await world.activeMachine({ status: 'terminated' });
      await world.machines.recordUnappliedExtension(
        paidExtension(machine.machine_id, 'owed'),
        at(0),
      );
      world.refunds.answers.push(new Error('provider down'), 'pending');
      expect(await sweep()).toEqual({ ...NOTHING, waiting: 1 });
      expect(listedAt(await world.machineItem(machine.machine_id))).toBe(at(2 * MINUTE));
      world.clock.advance(2 * MINUTE);
      expect(await sweep()).toEqual({ ...NOTHING, waiting: 1 });
      world.clock.advance(2 * MINUTE);
      expect(await sweep()).toEqual({ ...NOTHING, refunded: 1 });
      expect(world.refunds.keys()).toEqual(Array(3).fill(`refund-${machine.machine_id}-owed`));
      const item = await world.machineItem(machine.machine_id);
      expect((item.extensions as Record<string, ExtensionRecord>).owed?.refund).toMatchObject({
        status: 'refunded',
        amount_cents: 50,
      });
      expect(listedAt(item)).toBeUndefined();
      // Confirmed: a later sweep asks nothing more.
      await world.machines.scheduleSweep(machine.machine_id, at(0));
      expect(await sweep()).toEqual(NOTHING);
      expect(world.refunds.calls).toHaveLength(3);
    });

    it('counts an extension refund owed over an hour, from when it fell due', async () => {
      const machine = await world.activeMachine({ status: 'terminated' });
      await world.machines.recordUnappliedExtension(
        paidExtension(machine.machine_id, 'slow'),
        at(0),
      );
      world.refunds.otherwise = 'pending';
      world.clock.advance(HOUR);
      expect(await sweep()).toEqual({ ...NOTHING, waiting: 1 });
      world.clock.advance(2 * MINUTE);
      expect(await sweep()).toEqual({ ...NOTHING, waiting: 1, refunds_owed_over_an_hour: 1 });
    });

    it('counts from when the extension was applied when no due time is recorded', async () => {
      const machine = await world.activeMachine({ status: 'terminated' });
      await world.machines.recordUnappliedExtension(
        paidExtension(machine.machine_id, 'old', {
          refund_due_since: undefined,
          applied_at: at(-HOUR - 1),
        }),
        at(0),
      );
      world.refunds.otherwise = 'pending';
      expect(await sweep()).toEqual({ ...NOTHING, waiting: 1, refunds_owed_over_an_hour: 1 });
    });

    it('leaves applied extensions alone', async () => {
      const machine = await world.activeMachine({ status: 'terminated' });
      await world.machines.recordUnappliedExtension(
        paidExtension(machine.machine_id, 'fine', {
          refund_due: undefined,
          refund_due_since: undefined,
        }),
        at(0),
      );
      expect(await sweep()).toEqual(NOTHING);
      expect(world.refunds.calls).toEqual([]);
      expect(listedAt(await world.machineItem(machine.machine_id))).toBeUndefined();
    });

    describe('terminated early, owing its unused minutes', () => {
      async function terminatedEarly(dueSince = world.clock.now().toISOString()) {
        const { order, machineId } = await settledOrder({ status: 'active' });
        const machine = await world.machines.get(machineId, world.clock.now());
        if (!machine) throw new Error('no machine');
        await world.orders.closeSweep(order.order_id);
        await world.machines.requestTermination(machineId, world.clock.now(), {
          basis: machine,
          owed: { minutes: 30, amount_cents: 150, due_since: dueSince },
          checkAt: at(0),
        });
        return { order, machineId };
      }

      it('refunds them once, from the order payment', async () => {
        const { order, machineId } = await terminatedEarly();
        expect(await sweep()).toEqual({ ...NOTHING, refunded: 1 });
        expect(world.refunds.calls).toMatchObject([
          {
            payment: order.payment,
            amountCents: 150,
            idempotencyKey: `refund-unused-${machineId}`,
          },
        ]);
        const item = await world.machineItem(machineId);
        expect(item.unused_refund).toMatchObject({ refund: { status: 'refunded' } });
        expect(listedAt(item)).toBeUndefined();
        await world.machines.scheduleSweep(machineId, at(0));
        expect(await sweep()).toEqual(NOTHING);
        expect(world.refunds.calls).toHaveLength(1);
      });

      it('retries while pending and counts them owed over an hour after they fell due', async () => {
        const { machineId } = await terminatedEarly(
          new Date(world.clock.now().getTime() - HOUR).toISOString(),
        );
        world.refunds.otherwise = 'pending';
        expect(await sweep()).toEqual({ ...NOTHING, waiting: 1 });
        expect(listedAt(await world.machineItem(machineId))).toBe(at(2 * MINUTE));
        world.clock.advance(2 * MINUTE);
        expect(await sweep()).toEqual({ ...NOTHING, waiting: 1, refunds_owed_over_an_hour: 1 });
      });

      it('counts a refund that cannot be made as failed and looks again later', async () => {
        const { machineId } = await terminatedEarly();
        world.refunds.otherwise = new Error('provider down');
        expect(await sweep()).toEqual({ ...NOTHING, failed: 1 });
        expect(listedAt(await world.machineItem(machineId))).toBe(at(2 * MINUTE));
        expect(world.log.entries.find((e) => e.event === 'sweep.machine_failed')?.fields).toEqual({
          machine_id: machineId,
          error: 'Error: provider down',
        });
      });
    });

    describe('ended for cause', () => {
      async function endedForCause(endedAt = world.clock.now()) {
        const machine = await world.activeMachine();
        await world.machines.endForCause(machine.machine_id, {
          cause: {
            reason: 'abuse',
            refund: 'full',
            ended_by: 'operator',
            ended_at: endedAt.toISOString(),
          },
          failureReason: 'ended for abuse',
          refunds: {
            order: { payment: { method: 'test', reference: 'pay_order' }, amount_cents: 399 },
            ext: { payment: { method: 'test', reference: 'pay_ext' }, amount_cents: 50 },
          },
          now: world.clock.now(),
        });
        return machine;
      }

      it('pays each share once', async () => {
        const machine = await endedForCause();
        expect(await sweep()).toEqual({ ...NOTHING, refunded: 2 });
        expect(world.refunds.calls.map((c) => c.amountCents).sort()).toEqual([399, 50].sort());
        expect(listedAt(await world.machineItem(machine.machine_id))).toBeUndefined();
      });

      it('waits for shares still owed and counts them owed over an hour after the end', async () => {
        const machine = await endedForCause(new Date(world.clock.now().getTime() - HOUR - 1));
        world.refunds.answers.push('refunded', 'pending');
        expect(await sweep()).toEqual({
          ...NOTHING,
          refunded: 1,
          waiting: 1,
          refunds_owed_over_an_hour: 1,
        });
        expect(listedAt(await world.machineItem(machine.machine_id))).toBe(at(2 * MINUTE));
      });

      it('does not count shares owed for less than an hour', async () => {
        await endedForCause(new Date(world.clock.now().getTime() - HOUR));
        world.refunds.otherwise = 'pending';
        expect(await sweep()).toEqual({ ...NOTHING, waiting: 1 });
      });
    });
  });

  it('goes on with the next item after one fails, and counts each', async () => {
    const first = await settledOrder(undefined, { ssh_public_key: undefined });
    const second = await orderWithAttempt({ kind: 'not_charged' });
    expect(await sweep()).toEqual({ ...NOTHING, failed: 1, forgotten: 1 });
    expect(listedAt(await world.orderItem(first.order.order_id))).toBe(at(2 * MINUTE));
    expect(listedAt(await world.orderItem(second.order_id))).toBeUndefined();
  });

  it('looks at no more items than its limit', async () => {
    await orderWithAttempt({ kind: 'not_charged' });
    await orderWithAttempt({ kind: 'not_charged' });
    expect(await sweepPayments(world.storefront, 1)).toEqual({ ...NOTHING, forgotten: 1 });
    expect(await sweepPayments(world.storefront)).toEqual({ ...NOTHING, forgotten: 1 });
  });
});
