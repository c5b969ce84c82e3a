import { acceptedMethodsVariable } from '../../lambdas/adapters/payments/accepted-methods.js';
import { stripeMethod } from '../../lambdas/adapters/payments/stripe-method.js';
import type { ExtensionRecord, MachineRecord } from '../../lambdas/core/machine.js';
import type { RefundRecord } from '../../lambdas/core/payment-records.js';
import { refundFailedLease } from '../../lambdas/core/use-cases/refund-failed-lease.js';
import { createRefundLease, handler } from '../../lambdas/workflow/refund-lease.js';
import { orderFixture } from '../support/fixtures.js';
import { type MoneyWorld, moneyTable } from '../support/money-world.js';
import { SPT, stripeStandIn } from '../support/stripe-stand-in.js';

/**
 * A lease that failed before use gives back the order's payment and every paid extension,
 * each under its own idempotency key and recorded once; the workflow's "Refund payment" step
 * then clears the lease's `refund_due`, or leaves it with the error beside it.
 */
let serial = 0;
const refunded = (amount: number, status: RefundRecord['status'] = 'refunded'): RefundRecord => ({
  status,
  amount_cents: amount,
  reference: `re_old_${amount}`,
  refunded_at: 'then',
});
const extension = (key: string, overrides: Partial<ExtensionRecord> = {}): ExtensionRecord => ({
  machine_id: 'set below',
  extension_key: key,
  additional_minutes: 10,
  lease_minutes_after: 70,
  applied_at: 'then',
  payment: { method: 'test', reference: `pay_${key}` },
  amount_cents: 50,
  ...overrides,
});

describe('refunding a failed lease', () => {
  let table: Awaited<ReturnType<typeof moneyTable>>;
  let world: MoneyWorld;
  beforeAll(async () => {
    table = await moneyTable();
  });
  afterAll(() => table.close());
  beforeEach(() => {
    world = table.fresh();
  });

  /** A settled order and its machine, in the state given (failed and paid by default). */
  async function failedLease(
    machine: Partial<MachineRecord> = {},
    orderRefund?: RefundRecord,
  ): Promise<MachineRecord> {
    serial++;
    const orderId = `order_${String(serial).padStart(32, 'a')}`;
    const now = world.clock.now();
    await world.orders.open(orderFixture({ order_id: orderId }, now), now);
    const settled = await world.orders.settle(orderId, {
      payment: { method: 'test', reference: `pay_order_${serial}` },
      machineId: 'machine_unused',
      settledAt: now.toISOString(),
      checkAt: now.toISOString(),
    });
    if (!settled) throw new Error('not settled');
    if (orderRefund) await world.orders.recordRefund(orderId, orderRefund);
    const { extensions = {}, ...fields } = machine;
    const created = await world.activeMachine({
      status: 'failed',
      order_id: orderId,
      refund_due: true,
      ...fields,
    });
    // Recorded as the store records them, under the machine's own id.
    for (const record of Object.values(extensions)) {
      await world.machines.recordUnappliedExtension(
        { ...record, machine_id: created.machine_id },
        now.toISOString(),
      );
    }
    return created;
  }

  it('refunds the order and each paid extension once, keyed by what it refunds', async () => {
    const lease = await failedLease({
      extensions: {
        a: extension('a'),
        b: extension('b', { amount_cents: 100 }),
        unpaid: extension('unpaid', { payment: undefined }),
        free: extension('free', { amount_cents: 0 }),
      },
    });
    const summary = await refundFailedLease(world.storefront, lease.machine_id);
    expect(world.refunds.calls).toEqual([
      {
        payment: { method: 'test', reference: `pay_order_${serial}` },
        amountCents: 399,
        idempotencyKey: `refund-${lease.order_id}`,
        reason: `machine ${lease.machine_id} could not be provided`,
      },
      {
        payment: { method: 'test', reference: 'pay_a' },
        amountCents: 50,
        idempotencyKey: `refund-${lease.machine_id}-a`,
        reason: `extension of machine ${lease.machine_id}, which could not be provided`,
      },
      {
        payment: { method: 'test', reference: 'pay_b' },
        amountCents: 100,
        idempotencyKey: `refund-${lease.machine_id}-b`,
        reason: `extension of machine ${lease.machine_id}, which could not be provided`,
      },
    ]);
    expect(summary).toEqual({ refunded_cents: 549, refunds: ['re_1', 're_2', 're_3'] });
    expect((await world.orderItem(lease.order_id)).refund).toMatchObject({
      status: 'refunded',
      amount_cents: 399,
    });
    const stored = (await world.machineItem(lease.machine_id)).extensions as Record<
      string,
      ExtensionRecord
    >;
    expect(stored.a?.refund).toMatchObject({ amount_cents: 50, reference: 're_2' });
    expect(stored.b?.refund).toMatchObject({ amount_cents: 100, reference: 're_3' });
    expect(world.log.entries.find((e) => e.event === 'lease.refunded')?.fields).toEqual({
      machine_id: lease.machine_id,
      refunded_cents: 549,
      refunds: ['re_1', 're_2', 're_3'],
    });

    // Run again (a retried step): everything is refunded, nothing is asked again.
    const again = await refundFailedLease(world.storefront, lease.machine_id);
    expect(again).toEqual({ refunded_cents: 0, refunds: [] });
    expect(world.refunds.calls).toHaveLength(3);
  });

  it('asks again for refunds still pending and records the answer, counting them once', async () => {
    const lease = await failedLease(
      { extensions: { p: extension('p', { refund: refunded(50, 'pending') }) } },
      refunded(399, 'pending'),
    );
    const summary = await refundFailedLease(world.storefront, lease.machine_id);
    expect(world.refunds.keys()).toEqual([
      `refund-${lease.order_id}`,
      `refund-${lease.machine_id}-p`,
    ]);
    expect(summary).toEqual({ refunded_cents: 0, refunds: [] });
    expect((await world.orderItem(lease.order_id)).refund).toMatchObject({
      status: 'refunded',
      reference: 're_1',
    });
    const stored = (await world.machineItem(lease.machine_id)).extensions as Record<
      string,
      ExtensionRecord
    >;
    expect(stored.p?.refund).toMatchObject({ status: 'refunded', reference: 're_2' });
    expect(world.log.entries.map((e) => e.event)).not.toContain('lease.refunded');
  });

  it('records nothing when the provider answers with no refund', async () => {
    const lease = await failedLease({ extensions: { n: extension('n') } });
    world.refunds.otherwise = 'nothing';
    expect(await refundFailedLease(world.storefront, lease.machine_id)).toEqual({
      refunded_cents: 0,
      refunds: [],
    });
    expect(world.refunds.calls).toHaveLength(2);
    expect((await world.orderItem(lease.order_id)).refund).toBeUndefined();
  });

  it('counts nothing a concurrent run recorded first', async () => {
    const lease = await failedLease();
    world.orders.recordRefund = async () => false;
    expect(await refundFailedLease(world.storefront, lease.machine_id)).toEqual({
      refunded_cents: 0,
      refunds: [],
    });
    expect(world.refunds.calls).toHaveLength(1);
  });

  it('refunds nothing for a lease that did not fail, was not paid for, or is unknown', async () => {
    const active = await failedLease({ status: 'active' });
    const unpaid = await failedLease({ billing: 'unpaid' });
    for (const machineId of [active.machine_id, unpaid.machine_id, 'machine_0000000000000000']) {
      expect(await refundFailedLease(world.storefront, machineId)).toEqual({
        refunded_cents: 0,
        refunds: [],
      });
    }
    expect(world.refunds.calls).toEqual([]);
  });

  describe('the "Refund payment" step', () => {
    const step = () => createRefundLease({ ...world.storefront, lifecycle: world.lifecycle });

    it('clears refund_due once everything is refunded', async () => {
      const lease = await failedLease({ refund_error: 'earlier failure' });
      const summary = await step()({ machine_id: lease.machine_id });
      expect(summary).toEqual({ refunded_cents: 399, refunds: ['re_1'] });
      const item = await world.machineItem(lease.machine_id);
      expect(item.refund_due).toBeUndefined();
      expect(item.refund_error).toBeUndefined();
    });

    it('keeps refund_due with the error beside it when a refund fails, and fails the step', async () => {
      const lease = await failedLease();
      const declined = new Error('card_declined');
      declined.name = 'StripeError';
      world.refunds.answers.push(declined);
      await expect(step()({ machine_id: lease.machine_id })).rejects.toBe(declined);
      const item = await world.machineItem(lease.machine_id);
      expect(item.refund_due).toBe(true);
      expect(item.refund_error).toBe('StripeError: card_declined');
      expect(world.log.entries.find((e) => e.event === 'lease.refund_failed')?.fields).toEqual({
        machine_id: lease.machine_id,
        error: 'StripeError: card_declined',
      });
    });

    it('records a thrown non-error as it reads, and still fails when that record cannot be written', async () => {
      const lease = await failedLease();
      world.refunds.refund = async () => {
        throw 'provider unreachable';
      };
      await expect(step()({ machine_id: lease.machine_id })).rejects.toBe('provider unreachable');
      expect((await world.machineItem(lease.machine_id)).refund_error).toBe('provider unreachable');

      const lifecycle = {
        settleRefund: world.lifecycle.settleRefund.bind(world.lifecycle),
        recordRefundError: async () => {
          throw new Error('table unavailable');
        },
      };
      const failing = createRefundLease({ ...world.storefront, lifecycle });
      await expect(failing({ machine_id: lease.machine_id })).rejects.toBe('provider unreachable');
    });
  });

  describe('the deployed step, composed from its environment', () => {
    const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:stripe';

    /** A failed lease paid with Stripe: a PaymentIntent the stand-in took. */
    async function paidWithStripe(stripe: ReturnType<typeof stripeStandIn>) {
      const created = await stripe.fetch('https://api.stripe.com/v1/payment_intents', {
        method: 'POST',
        body: new URLSearchParams({
          amount: '399',
          currency: 'usd',
          'payment_method_data[shared_payment_granted_token]': SPT.paid,
        }).toString(),
      });
      const intent = (await created.json()) as { id: string };
      const now = world.clock.now();
      const orderId = `order_${String(++serial).padStart(32, 'c')}`;
      await world.orders.open(orderFixture({ order_id: orderId }, now), now);
      await world.orders.settle(orderId, {
        payment: { method: 'stripe', reference: intent.id },
        machineId: 'machine_unused',
        settledAt: now.toISOString(),
        checkAt: now.toISOString(),
      });
      return world.activeMachine({ status: 'failed', order_id: orderId, refund_due: true });
    }

    function deployedStep(
      stripe: ReturnType<typeof stripeStandIn>,
      environment: Record<string, string>,
      secretsRead: string[],
    ) {
      // As the template gives the refund function: the accepted methods, and Stripe's own
      // variables (its secret's ARN) beside them.
      const env: Record<string, string> = {
        TABLE_NAME: table.table.tableName,
        MANAGED_BY: 'test-storefront',
        RETENTION_DAYS: '30',
        RECONCILE_GRACE_MINUTES: '10',
        PAYMENT_METHODS: acceptedMethodsVariable([stripeMethod.facts]),
        STRIPE_NETWORK_ID: 'profile_test',
        STRIPE_PAYMENT_METHOD_TYPES: 'card',
        ...environment,
      };
      return handler.with({
        env,
        clients: {
          dynamodb: table.table.dynamo.clientConfig,
          secretsManager: {
            send: async (command: { input: { SecretId: string } }) => {
              secretsRead.push(command.input.SecretId);
              return { SecretString: 'sk_test_from_the_secret' };
            },
          },
          paymentFetch: stripe.fetch,
          clock: world.clock,
          log: world.log,
        },
      });
    }

    it('refunds a Stripe payment with the key read from the secret it is given', async () => {
      const stripe = stripeStandIn(() => world.clock.now());
      const lease = await paidWithStripe(stripe);
      const secretsRead: string[] = [];
      const summary = await deployedStep(
        stripe,
        { STRIPE_SECRET_ARN: SECRET_ARN },
        secretsRead,
      )({ machine_id: lease.machine_id });
      expect(secretsRead).toEqual([SECRET_ARN]);
      expect(summary.refunded_cents).toBe(399);
      const [call] = stripe.refundCalls();
      expect(call?.headers.authorization).toBe(
        `Basic ${Buffer.from('sk_test_from_the_secret:').toString('base64')}`,
      );
      expect(call?.headers['idempotency-key']).toBe(`refund-${lease.order_id}`);
      expect((await world.machineItem(lease.machine_id)).refund_due).toBeUndefined();
    });

    it('without the Stripe secret it is due, refuses to start: reads no secret, refunds nothing, the payment stays owed', async () => {
      const stripe = stripeStandIn(() => world.clock.now());
      const lease = await paidWithStripe(stripe);
      const before = await world.machineItem(lease.machine_id);
      const secretsRead: string[] = [];
      await expect(
        deployedStep(stripe, {}, secretsRead)({ machine_id: lease.machine_id }),
      ).rejects.toThrow('STRIPE_SECRET_ARN (payment method stripe): missing');
      expect(secretsRead).toEqual([]);
      expect(stripe.refundCalls()).toEqual([]);
      expect(await world.machineItem(lease.machine_id)).toEqual(before);
    });
  });
});
