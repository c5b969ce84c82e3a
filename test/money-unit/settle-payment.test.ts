import type { OrderRecord } from '../../lambdas/core/order.js';
import {
  attemptFor,
  finishEarlierAttempts,
  refundDuplicate,
  settleOrder,
} from '../../lambdas/core/use-cases/settle-payment.js';
import { orderFixture } from '../support/fixtures.js';
import { credential, type MoneyWorld, moneyTable } from '../support/money-world.js';

/**
 * Settlement: the first payment settles the order; a second one (the lock lapsed mid-charge)
 * is recorded as owed back and refunded under a key of its own.
 */
const MINUTE = 60_000;
let orders = 0;

describe('settling an order', () => {
  let table: Awaited<ReturnType<typeof moneyTable>>;
  let world: MoneyWorld;
  beforeAll(async () => {
    table = await moneyTable();
  });
  afterAll(() => table.close());
  beforeEach(() => {
    world = table.fresh();
  });

  async function unpaidOrder(): Promise<OrderRecord> {
    orders++;
    const order = orderFixture(
      { order_id: `order_${String(orders).padStart(32, '0')}`, ssh_public_key: 'ssh-ed25519 AAAA' },
      world.clock.now(),
    );
    return world.orders.open(order, world.clock.now());
  }

  it('settles an unpaid order with the payment, a new machine id and a check for the sweeper', async () => {
    const order = await unpaidOrder();
    const payment = { method: 'test', reference: 'pay_a' };
    const settled = await settleOrder(world.storefront, order, payment);
    expect(settled.justSettled).toBe(true);
    expect(settled.order).toMatchObject({
      status: 'settled',
      payment,
      settled_at: world.clock.now().toISOString(),
    });
    expect(settled.order.machine_id).toMatch(/^machine_[0-9a-f]{16}$/);
    const item = await world.orderItem(order.order_id);
    expect(item.sweep_sk).toBe(
      `${new Date(world.clock.now().getTime() + 3 * MINUTE).toISOString()}#ORDER#${order.order_id}`,
    );
    expect(world.refunds.calls).toEqual([]);
  });

  it('gives a second payment back, recorded first, under its own idempotency key', async () => {
    const order = await unpaidOrder();
    await settleOrder(world.storefront, order, { method: 'test', reference: 'pay_first' });
    world.clock.advance(MINUTE);
    const second = { method: 'test', reference: 'pay_second' };
    const outcome = await settleOrder(world.storefront, order, second);
    expect(outcome.justSettled).toBe(false);
    expect(outcome.order.payment?.reference).toBe('pay_first');
    expect(world.refunds.calls).toEqual([
      {
        payment: second,
        amountCents: 399,
        idempotencyKey: 'refund-duplicate-pay_second',
        reason: `a second payment for order ${order.order_id}`,
      },
    ]);
    const item = await world.orderItem(order.order_id);
    expect(item.duplicate_payments).toEqual({
      pay_second: {
        payment: second,
        amount_cents: 399,
        due_since: world.clock.now().toISOString(),
        refund: {
          status: 'refunded',
          amount_cents: 399,
          reference: 're_1',
          refunded_at: expect.any(String),
        },
      },
    });
    expect(item.sweep_sk).toBe(`${world.clock.now().toISOString()}#ORDER#${order.order_id}`);
    // What an operator reconciles with the provider's dashboard: order, payment and refund.
    expect(
      world.log.entries.find((e) => e.event === 'order.duplicate_payment_refunded')?.fields,
    ).toEqual({
      order_id: order.order_id,
      payment_reference: 'pay_second',
      method: 'test',
      refund_reference: 're_1',
      status: 'refunded',
    });
  });

  it('does not refund the payment that settled the order when it is settled again', async () => {
    const order = await unpaidOrder();
    const payment = { method: 'test', reference: 'pay_same' };
    await settleOrder(world.storefront, order, payment);
    const again = await settleOrder(world.storefront, order, payment);
    expect(again.justSettled).toBe(false);
    expect(world.refunds.calls).toEqual([]);
    expect((await world.orderItem(order.order_id)).duplicate_payments).toEqual({});
  });

  it('fails loudly when money was taken for an order that cannot be settled', async () => {
    const order = orderFixture(
      { order_id: 'order_ffffffffffffffffffffffffffffffff' },
      world.clock.now(),
    );
    await expect(
      settleOrder(world.storefront, order, { method: 'test', reference: 'pay_lost' }),
    ).rejects.toThrow(`order ${order.order_id} was charged but could not be settled`);
  });

  describe('refundDuplicate', () => {
    const duplicate = {
      payment: { method: 'test', reference: 'pay_dup' },
      amount_cents: 399,
      due_since: 'then',
    };

    it('leaves a duplicate whose refund failed owed, for the sweeper', async () => {
      const order = await unpaidOrder();
      await world.orders.recordDuplicatePayment(order.order_id, duplicate, 'now');
      world.refunds.answers.push(new Error('declined'));
      expect(await refundDuplicate(world.storefront, order.order_id, duplicate)).toBeUndefined();
      const item = await world.orderItem(order.order_id);
      expect(
        (item.duplicate_payments as Record<string, { refund?: unknown }>).pay_dup?.refund,
      ).toBeUndefined();
      expect(
        world.log.entries.find((e) => e.event === 'order.duplicate_payment_not_refunded')?.fields,
      ).toMatchObject({
        payment_reference: 'pay_dup',
        error: 'Error: declined',
      });
    });

    it('records nothing when the provider answers with no refund', async () => {
      const order = await unpaidOrder();
      await world.orders.recordDuplicatePayment(order.order_id, duplicate, 'now');
      world.refunds.answers.push('nothing');
      expect(await refundDuplicate(world.storefront, order.order_id, duplicate)).toBeUndefined();
      const item = await world.orderItem(order.order_id);
      expect(
        (item.duplicate_payments as Record<string, { refund?: unknown }>).pay_dup?.refund,
      ).toBeUndefined();
    });

    it('records a pending refund', async () => {
      const order = await unpaidOrder();
      await world.orders.recordDuplicatePayment(order.order_id, duplicate, 'now');
      world.refunds.answers.push('pending');
      expect(await refundDuplicate(world.storefront, order.order_id, duplicate)).toMatchObject({
        status: 'pending',
      });
      const item = await world.orderItem(order.order_id);
      expect(
        (item.duplicate_payments as Record<string, { refund?: unknown }>).pay_dup?.refund,
      ).toMatchObject({
        status: 'pending',
      });
    });
  });

  describe('finishEarlierAttempts', () => {
    const attempt = (key: string, owner: string) => ({
      key,
      challenge_id: `challenge-${key}`,
      method: 'test',
      external_id: 'x',
      amount_cents: 399,
      started_at: 'then',
      owner,
    });

    async function lockedWith(owners: [string, string][]) {
      const order = await unpaidOrder();
      for (const [key, owner] of owners) {
        world.clock.advance(1);
        const now = world.clock.now();
        await world.orders.lockForPayment(order.order_id, owner, now, now, attempt(key, owner));
      }
      world.clock.advance(1);
      const now = world.clock.now();
      const locked = await world.orders.lockForPayment(
        order.order_id,
        'me',
        new Date(now.getTime() + MINUTE),
        now,
      );
      if (!locked) throw new Error('not locked');
      return locked;
    }

    it('asks about the attempts of others only, and forgets those that took nothing', async () => {
      const locked = await lockedWith([
        ['theirs', 'dead'],
        ['mine', 'me'],
      ]);
      expect(await finishEarlierAttempts(world.storefront, locked, 'me')).toBeUndefined();
      expect(world.payments.recovered.map((a) => a.key)).toEqual(['theirs']);
      const item = await world.orderItem(locked.order_id);
      expect(Object.keys(item.payment_attempts as object)).toEqual(['mine']);
      expect(item.payment_lock_owner).toBe('me');
    });

    it('settles the order with an attempt that took money', async () => {
      const locked = await lockedWith([['charged', 'dead']]);
      world.payments.recoveries.set('charged', {
        kind: 'charged',
        payment: { method: 'test', reference: 'pay_recovered', receipt_header: 'r' },
      });
      const settled = await finishEarlierAttempts(world.storefront, locked, 'me');
      expect(settled).toMatchObject({
        justSettled: true,
        order: { status: 'settled', payment: { reference: 'pay_recovered' } },
      });
      // The only trace that an order was settled by a payment its own request never saw.
      expect(world.log.entries.find((e) => e.event === 'order.attempt_recovered')?.fields).toEqual({
        order_id: locked.order_id,
        challenge_id: 'challenge-charged',
        method: 'test',
        outcome: 'charged',
      });
    });
  });

  it('records an attempt by the credential digest, before any money moves', () => {
    const now = world.clock.now();
    expect(
      attemptFor(credential('x'), { externalId: 'order_1', amountCents: 399 }, 'owner-1', now),
    ).toEqual({
      key: credential('x').digest.slice(0, 32),
      challenge_id: 'challenge-x',
      method: 'test',
      external_id: 'order_1',
      amount_cents: 399,
      started_at: now.toISOString(),
      owner: 'owner-1',
    });
  });
});
