import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoMachineStore } from '../../lambdas/adapters/dynamodb/machine-store.js';
import { DynamoOrderStore } from '../../lambdas/adapters/dynamodb/order-store.js';
import { itemKeys } from '../../lambdas/adapters/dynamodb/table-design.js';
import { newMachineId } from '../../lambdas/core/ids.js';
import type { MachineRecord } from '../../lambdas/core/machine.js';
import type { RefundRecord } from '../../lambdas/core/payment-records.js';
import { machineFixture, orderFixture } from '../support/fixtures.js';
import { type LocalTable, localTable } from '../support/local-table.js';

/**
 * The writes that record money owed back and given back: each records a refund once (a
 * `pending` one may be replaced by the provider's later answer, a `refunded` one never), lists
 * the item for the sweeper where money is still owed, and never creates an item that is not
 * there (an update without `attribute_exists(pk)` would).
 */
const now = new Date('2026-12-07T10:00:00.000Z');
const refund = (status: RefundRecord['status'], reference: string, amount = 399): RefundRecord => ({
  status,
  amount_cents: amount,
  reference,
  refunded_at: now.toISOString(),
});
const payment = { method: 'test', reference: 'pay_1' };
let serial = 0;

describe('refund records (dynalite)', () => {
  let table: LocalTable;
  let orders: DynamoOrderStore;
  let machines: DynamoMachineStore;
  beforeAll(async () => {
    table = await localTable();
    orders = new DynamoOrderStore(table.db, table.tableName);
    machines = new DynamoMachineStore(table.db, table.tableName);
  });
  afterAll(() => table.close());

  const stored = async (key: { pk: string; sk: string }) =>
    (await table.db.send(new GetCommand({ TableName: table.tableName, Key: key }))).Item;
  const newOrderId = () => `order_${String(++serial).padStart(32, 'd')}`;
  const settledOrder = async () => {
    const orderId = newOrderId();
    await orders.open(orderFixture({ order_id: orderId }, now), now);
    await orders.settle(orderId, {
      payment,
      machineId: 'machine_x',
      settledAt: now.toISOString(),
      checkAt: now.toISOString(),
    });
    return orderId;
  };
  const machine = (overrides: Partial<MachineRecord> = {}) =>
    machines.create(
      machineFixture({ machineId: newMachineId(), now }, { status: 'active', ...overrides }),
    );

  describe('orders', () => {
    it("records an order's refund once", async () => {
      const orderId = await settledOrder();
      expect(await orders.recordRefund(orderId, refund('pending', 're_1'))).toBe(true);
      expect(await orders.recordRefund(orderId, refund('refunded', 're_2'))).toBe(false);
      expect((await orders.get(orderId, now))?.refund?.reference).toBe('re_1');
    });

    it('replaces a pending refund with the answer, but never a confirmed one', async () => {
      const orderId = await settledOrder();
      expect(await orders.updatePendingRefund(orderId, refund('refunded', 're_1'))).toBe(false);
      await orders.recordRefund(orderId, refund('pending', 're_1'));
      expect(await orders.updatePendingRefund(orderId, refund('refunded', 're_1'))).toBe(true);
      expect(await orders.updatePendingRefund(orderId, refund('pending', 're_9'))).toBe(false);
      expect((await orders.get(orderId, now))?.refund).toMatchObject({
        status: 'refunded',
        reference: 're_1',
      });
    });

    it('records a duplicate payment once, lists the order, and its refund only where it is recorded', async () => {
      const orderId = await settledOrder();
      const duplicate = {
        payment: { method: 'test', reference: 'pay_2' },
        amount_cents: 399,
        due_since: 'first',
      };
      await orders.recordDuplicatePayment(orderId, duplicate, '2026-12-07T10:05:00.000Z');
      await orders.recordDuplicatePayment(
        orderId,
        { ...duplicate, due_since: 'second' },
        '2026-12-07T10:06:00.000Z',
      );
      const item = await stored(itemKeys.order(orderId));
      expect(item?.duplicate_payments).toEqual({ pay_2: duplicate });
      expect(item?.sweep_sk).toBe(`2026-12-07T10:06:00.000Z#ORDER#${orderId}`);

      await orders.recordDuplicateRefund(orderId, 'pay_2', refund('refunded', 're_d'));
      await orders.recordDuplicateRefund(orderId, 'pay_unknown', refund('refunded', 're_x'));
      const after = (await orders.get(orderId, now))?.duplicate_payments;
      expect(after).toEqual({ pay_2: { ...duplicate, refund: refund('refunded', 're_d') } });
    });

    it('writes nothing for an order that does not exist', async () => {
      const orderId = newOrderId();
      expect(await orders.recordRefund(orderId, refund('refunded', 're_1'))).toBe(false);
      await expect(
        orders.recordDuplicatePayment(orderId, { payment, amount_cents: 1, due_since: 'x' }, 'x'),
      ).rejects.toThrow();
      await orders.scheduleSweep(orderId, now.toISOString());
      await orders.closeSweep(orderId);
      expect(
        await orders.lockForPayment(orderId, 'o', new Date(now.getTime() + 1000), now),
      ).toBeUndefined();
      expect(await stored(itemKeys.order(orderId))).toBeUndefined();
    });

    it('settles only an unpaid order, clearing its lock, expiry and attempts', async () => {
      const orderId = newOrderId();
      await orders.open(orderFixture({ order_id: orderId }, now), now);
      await orders.lockForPayment(orderId, 'holder', new Date(now.getTime() + 1000), now, {
        key: 'k',
        challenge_id: 'c',
        method: 'test',
        external_id: orderId,
        amount_cents: 399,
        started_at: now.toISOString(),
        owner: 'holder',
      });
      const settled = await orders.settle(orderId, {
        payment,
        machineId: 'machine_y',
        settledAt: now.toISOString(),
        checkAt: '2026-12-07T10:03:00.000Z',
      });
      expect(settled).toMatchObject({
        status: 'settled',
        payment,
        machine_id: 'machine_y',
        settled_at: now.toISOString(),
      });
      const item = await stored(itemKeys.order(orderId));
      expect(item?.payment_attempts).toEqual({});
      expect(item?.payment_lock_owner).toBeUndefined();
      expect(item?.payment_lock_until).toBeUndefined();
      expect(item?.expires_at_epoch).toBeUndefined();
      // Listed already (by the attempt): kept where it was.
      expect(item?.sweep_sk).toBe(
        `${new Date(now.getTime() + 1000).toISOString()}#ORDER#${orderId}`,
      );
      expect(
        await orders.settle(orderId, {
          payment,
          machineId: 'machine_z',
          settledAt: 'x',
          checkAt: 'x',
        }),
      ).toBeUndefined();
    });

    it('releases the payment lock only for its holder, forgetting the attempt named', async () => {
      const orderId = newOrderId();
      await orders.open(orderFixture({ order_id: orderId }, now), now);
      const attempt = {
        key: 'k',
        challenge_id: 'c',
        method: 'test',
        external_id: orderId,
        amount_cents: 399,
        started_at: now.toISOString(),
        owner: 'holder',
      };
      await orders.lockForPayment(
        orderId,
        'holder',
        new Date(now.getTime() + 60_000),
        now,
        attempt,
      );
      await orders.releasePaymentLock(orderId, 'someone-else', 'k');
      let item = await stored(itemKeys.order(orderId));
      expect(item?.payment_lock_owner).toBe('holder');
      expect(Object.keys(item?.payment_attempts ?? {})).toEqual(['k']);
      await orders.releasePaymentLock(orderId, 'holder', 'k');
      item = await stored(itemKeys.order(orderId));
      expect(item?.payment_lock_owner).toBeUndefined();
      expect(item?.payment_lock_until).toBeUndefined();
      expect(item?.payment_attempts).toEqual({});
    });
  });

  describe('machines', () => {
    const extension = (machineId: string, key: string) => ({
      machine_id: machineId,
      extension_key: key,
      additional_minutes: 10,
      lease_minutes_after: 70,
      applied_at: now.toISOString(),
      payment,
      amount_cents: 50,
      refund_due: true,
    });

    it("records an extension's refund once, replacing only a pending one, and clears refund_due", async () => {
      const leased = await machine();
      await machines.recordUnappliedExtension(extension(leased.machine_id, 'e'), now.toISOString());
      expect(
        await machines.recordExtensionRefund(leased.machine_id, 'missing', refund('refunded', 'r')),
      ).toBe(false);
      expect(
        await machines.recordExtensionRefund(leased.machine_id, 'e', refund('pending', 're_1', 50)),
      ).toBe(true);
      expect(await machines.getExtension(leased.machine_id, 'e')).toMatchObject({
        refund: { status: 'pending' },
      });
      expect((await machines.getExtension(leased.machine_id, 'e'))?.refund_due).toBeUndefined();
      expect(
        await machines.recordExtensionRefund(
          leased.machine_id,
          'e',
          refund('refunded', 're_1', 50),
        ),
      ).toBe(true);
      expect(
        await machines.recordExtensionRefund(leased.machine_id, 'e', refund('pending', 're_2', 50)),
      ).toBe(false);
      expect((await machines.getExtension(leased.machine_id, 'e'))?.refund).toMatchObject({
        status: 'refunded',
        reference: 're_1',
      });
    });

    it('records an unapplied extension once, lists the machine and concludes the attempt', async () => {
      const leased = await machine();
      const until = new Date(now.getTime() + 60_000);
      await machines.lockForExtension(leased.machine_id, 'holder', until, now, {
        key: 'attempt',
        challenge_id: 'c',
        method: 'test',
        external_id: 'x',
        amount_cents: 50,
        started_at: now.toISOString(),
        owner: 'holder',
      });
      expect(
        await machines.recordUnappliedExtension(
          extension(leased.machine_id, 'e'),
          '2026-12-07T10:09:00.000Z',
          'attempt',
        ),
      ).toBe(true);
      const item = await stored(itemKeys.machine(leased.machine_id));
      expect(item?.extension_attempts).toEqual({});
      expect(item?.sweep_sk).toBe(`2026-12-07T10:09:00.000Z#MACHINE#${leased.machine_id}`);
      expect(
        await machines.recordUnappliedExtension(extension('machine_0000000000000000', 'e'), 'x'),
      ).toBe(false);
      expect(await stored(itemKeys.machine('machine_0000000000000000'))).toBeUndefined();
    });

    it('owes unused minutes only from the lease as it was priced, once', async () => {
      const owed = { minutes: 30, amount_cents: 150, due_since: now.toISOString() };
      const leased = await machine({ expires_at: '2026-12-07T11:00:00.000Z' });
      const basis = {
        status: leased.status,
        lease_minutes: leased.lease_minutes,
        expires_at: leased.expires_at,
      };
      const checkAt = '2026-12-07T10:01:00.000Z';
      for (const changed of [
        { ...basis, status: 'provisioning' as const },
        { ...basis, lease_minutes: 70 },
        { ...basis, expires_at: '2026-12-07T11:10:00.000Z' },
      ]) {
        expect(
          await machines.requestTermination(leased.machine_id, now, {
            basis: changed,
            owed,
            checkAt,
          }),
        ).toBeUndefined();
      }
      const terminating = await machines.requestTermination(leased.machine_id, now, {
        basis,
        owed,
        checkAt,
      });
      expect(terminating).toMatchObject({
        status: 'terminating',
        termination_requested_at: now.toISOString(),
        unused_refund: owed,
      });
      expect((await stored(itemKeys.machine(leased.machine_id)))?.sweep_sk).toBe(
        `${checkAt}#MACHINE#${leased.machine_id}`,
      );
      // Owed once: the same basis (a retried DELETE) is refused now.
      const again = await machines.requestTermination(leased.machine_id, now, {
        basis: { ...basis, status: 'terminating' },
        owed,
        checkAt,
      });
      expect(again).toBeUndefined();
    });

    it('terminates without a refund only a live lease', async () => {
      for (const status of ['provisioning', 'active'] as const) {
        const leased = await machine({ status });
        expect(await machines.requestTermination(leased.machine_id, now)).toMatchObject({
          status: 'terminating',
        });
        expect((await stored(itemKeys.machine(leased.machine_id)))?.sweep_sk).toBeUndefined();
      }
      for (const status of ['terminating', 'terminated', 'failed'] as const) {
        const leased = await machine({ status });
        expect(await machines.requestTermination(leased.machine_id, now)).toBeUndefined();
      }
    });

    it("records the unused minutes' refund once it is owed, replacing only a pending one", async () => {
      const leased = await machine();
      expect(await machines.recordUnusedRefund(leased.machine_id, refund('refunded', 're_0'))).toBe(
        false,
      );
      await machines.requestTermination(leased.machine_id, now, {
        basis: leased,
        owed: { minutes: 30, amount_cents: 150, due_since: now.toISOString() },
        checkAt: now.toISOString(),
      });
      expect(
        await machines.recordUnusedRefund(leased.machine_id, refund('pending', 're_1', 150)),
      ).toBe(true);
      expect(
        await machines.recordUnusedRefund(leased.machine_id, refund('refunded', 're_1', 150)),
      ).toBe(true);
      expect(
        await machines.recordUnusedRefund(leased.machine_id, refund('pending', 're_2', 150)),
      ).toBe(false);
      expect((await machines.get(leased.machine_id, now))?.unused_refund?.refund).toMatchObject({
        status: 'refunded',
        reference: 're_1',
      });
    });

    it('ends a live lease for cause once, listing it for the sweeper only when it owes a refund', async () => {
      const cause = {
        reason: 'abuse',
        refund: 'full' as const,
        ended_by: 'operator',
        ended_at: now.toISOString(),
      };
      const refunds = { order: { payment, amount_cents: 399 } };
      const leased = await machine({ termination_requested_at: '2026-12-07T09:00:00.000Z' });
      const ended = await machines.endForCause(leased.machine_id, {
        cause,
        failureReason: 'ended for abuse',
        refunds,
        now,
      });
      expect(ended).toMatchObject({
        status: 'terminating',
        failure_reason: 'ended for abuse',
        end_cause: cause,
        cause_refunds: refunds,
        // An earlier termination request keeps its time.
        termination_requested_at: '2026-12-07T09:00:00.000Z',
      });
      expect((await stored(itemKeys.machine(leased.machine_id)))?.sweep_sk).toBe(
        `${now.toISOString()}#MACHINE#${leased.machine_id}`,
      );
      expect(
        await machines.endForCause(leased.machine_id, {
          cause,
          failureReason: 'again',
          refunds,
          now,
        }),
      ).toBeUndefined();

      const nothingOwed = await machine();
      const endedFree = await machines.endForCause(nothingOwed.machine_id, {
        cause: { ...cause, refund: 'none' },
        failureReason: 'ended',
        refunds: {},
        now,
      });
      expect(endedFree?.termination_requested_at).toBe(now.toISOString());
      expect((await stored(itemKeys.machine(nothingOwed.machine_id)))?.sweep_sk).toBeUndefined();

      for (const status of ['terminating', 'terminated', 'failed'] as const) {
        const over = await machine({ status });
        expect(
          await machines.endForCause(over.machine_id, { cause, failureReason: 'x', refunds, now }),
        ).toBeUndefined();
      }
      const provisioning = await machine({ status: 'provisioning' });
      expect(
        await machines.endForCause(provisioning.machine_id, {
          cause,
          failureReason: 'x',
          refunds,
          now,
        }),
      ).toBeDefined();
    });

    it('records each for-cause refund once, replacing only a pending one', async () => {
      const leased = await machine();
      await machines.endForCause(leased.machine_id, {
        cause: {
          reason: 'abuse',
          refund: 'full',
          ended_by: 'operator',
          ended_at: now.toISOString(),
        },
        failureReason: 'ended',
        refunds: { order: { payment, amount_cents: 399 } },
        now,
      });
      expect(
        await machines.recordCauseRefund(leased.machine_id, 'other', refund('refunded', 'r')),
      ).toBe(false);
      expect(
        await machines.recordCauseRefund(leased.machine_id, 'order', refund('pending', 're_1')),
      ).toBe(true);
      expect(
        await machines.recordCauseRefund(leased.machine_id, 'order', refund('refunded', 're_1')),
      ).toBe(true);
      expect(
        await machines.recordCauseRefund(leased.machine_id, 'order', refund('pending', 're_2')),
      ).toBe(false);
      expect(
        (await machines.get(leased.machine_id, now))?.cause_refunds?.order?.refund,
      ).toMatchObject({
        status: 'refunded',
        reference: 're_1',
      });
    });

    it('keeps a machine with an extension attempt on the sweep list, and writes nothing for an unknown one', async () => {
      const leased = await machine();
      await machines.lockForExtension(leased.machine_id, 'holder', now, now, {
        key: 'attempt',
        challenge_id: 'c',
        method: 'test',
        external_id: 'x',
        amount_cents: 50,
        started_at: now.toISOString(),
        owner: 'holder',
      });
      await machines.closeSweep(leased.machine_id);
      expect((await stored(itemKeys.machine(leased.machine_id)))?.sweep_sk).toBeDefined();
      await machines.scheduleSweep(leased.machine_id, '2026-12-07T11:00:00.000Z');
      expect((await stored(itemKeys.machine(leased.machine_id)))?.sweep_sk).toBe(
        `2026-12-07T11:00:00.000Z#MACHINE#${leased.machine_id}`,
      );

      const unknown = 'machine_1111111111111111';
      await machines.scheduleSweep(unknown, now.toISOString());
      await machines.closeSweep(unknown);
      expect(
        await machines.lockForExtension(unknown, 'o', new Date(now.getTime() + 1000), now),
      ).toBeUndefined();
      expect(await stored(itemKeys.machine(unknown))).toBeUndefined();
    });

    it('releases the extension lock only for its holder', async () => {
      const leased = await machine();
      const until = new Date(now.getTime() + 60_000);
      await machines.lockForExtension(leased.machine_id, 'holder', until, now, {
        key: 'attempt',
        challenge_id: 'c',
        method: 'test',
        external_id: 'x',
        amount_cents: 50,
        started_at: now.toISOString(),
        owner: 'holder',
      });
      await machines.releaseExtensionLock(leased.machine_id, 'someone-else', 'attempt');
      await machines.releaseExtensionLock(leased.machine_id, 'someone-else');
      let item = await stored(itemKeys.machine(leased.machine_id));
      expect(item?.extension_lock_owner).toBe('holder');
      expect(Object.keys(item?.extension_attempts ?? {})).toEqual(['attempt']);
      await machines.releaseExtensionLock(leased.machine_id, 'holder', 'attempt');
      item = await stored(itemKeys.machine(leased.machine_id));
      expect(item?.extension_lock_owner).toBeUndefined();
      expect(item?.extension_lock_until).toBeUndefined();
      expect(item?.extension_attempts).toEqual({});
    });

    it('treats a machine as gone from the second its retention ends', async () => {
      const epoch = Math.floor(now.getTime() / 1000) + 60;
      const ended = await machine({ status: 'terminated' });
      await table.db.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: itemKeys.machine(ended.machine_id),
          UpdateExpression: 'SET expires_at_epoch = :epoch',
          ExpressionAttributeValues: { ':epoch': epoch },
        }),
      );
      expect(await machines.get(ended.machine_id, new Date(epoch * 1000 - 1))).toBeDefined();
      expect(await machines.get(ended.machine_id, new Date(epoch * 1000))).toBeUndefined();
    });
  });
});
