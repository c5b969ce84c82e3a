import { Challenge, Credential } from 'mppx';
import { settleOrder } from '../../lambdas/core/use-cases/settle-payment.js';
import type { Storefront } from '../../lambdas/core/use-cases/storefront.js';
import { sweepPayments } from '../../lambdas/core/use-cases/sweep-payments.js';
import { crashing } from '../support/crash-injection.js';
import {
  buyMachine,
  type Harness,
  orderBody,
  type Reply,
  startHarness,
} from '../support/harness.js';
import { offsetClock } from '../support/offset-clock.js';

/**
 * A test-method credential for the challenge of a 402, built as an mppx client builds it, so
 * a test can present the very same credential again after a crash.
 */
function credentialFor(reply: Reply, outcome: 'paid' | 'declined' = 'paid') {
  const challenge = Challenge.fromHeaders(reply.headers);
  return Credential.serialize({ challenge, payload: { outcome } });
}

/** Runs `body` with some of the storefront's ports replaced, then puts the real ones back. */
async function withPorts(
  storefront: Storefront,
  replace: Partial<Pick<Storefront, 'orders' | 'payments' | 'machines' | 'refunds' | 'leases'>>,
  body: () => Promise<void>,
) {
  const original = { ...storefront };
  Object.assign(storefront, replace);
  try {
    await body();
  } finally {
    Object.assign(storefront, {
      orders: original.orders,
      payments: original.payments,
      machines: original.machines,
      refunds: original.refunds,
      leases: original.leases,
    });
  }
}

describe('an order is paid exactly once, whatever crashes', () => {
  let api: Harness;
  const clock = offsetClock();
  beforeAll(async () => {
    api = await startHarness({ clock });
  });
  afterAll(() => api.close());

  const paidOrderReplies = async (body: unknown, authorization: string) =>
    api.order(body, { authorization });

  it('takes the paying path when the Payment scheme is not the first in Authorization', async () => {
    const body = orderBody();
    const challenge = await api.order(body);
    expect(challenge.status).toBe(402);
    const credential = credentialFor(challenge);
    const paid = await paidOrderReplies(body, `Basic eDp5, ${credential}`);
    expect(paid.status).toBe(202);
    expect(paid.body).toMatchObject({ status: 'settled', is_paid: true });
    // The same credential again completes the same order and is not charged twice.
    const again = await paidOrderReplies(body, credential);
    expect(again.status).toBe(202);
    expect(again.body.machine).toEqual(paid.body.machine);
    expect(again.headers.get('payment-receipt')).toBe(paid.headers.get('payment-receipt'));
  });

  it('never answers 500 for a credential hidden behind other schemes, even a declined one', async () => {
    const body = orderBody();
    const challenge = await api.order(body);
    const declined = await paidOrderReplies(
      body,
      `Bearer abc, Basic eDp5, ${credentialFor(challenge, 'declined')}`,
    );
    expect(declined.status).toBe(402);
    expect(String(declined.body.error)).toMatch(/declined/);
    expect((await api.getOrder(String(declined.body.order_id))).body.status).toBe('unpaid');
  });

  it('never charges twice for a credential replayed after success', async () => {
    const body = orderBody();
    const credential = credentialFor(await api.order(body));
    const paid = await paidOrderReplies(body, credential);
    const replayed = await paidOrderReplies(body, credential);
    expect([paid.status, replayed.status]).toEqual([202, 202]);
    expect(replayed.body.machine).toEqual(paid.body.machine);
  });

  it('settles a charge whose answer was lost when the same credential comes back after its challenge expired', async () => {
    // The agent's retry of a lost answer: its credential was charged, and its challenge has
    // expired since. The charge must become the order's machine, not a 402 "expired".
    const body = orderBody();
    const challenge = await api.order(body);
    const orderId = String(challenge.body.order_id);
    const credential = credentialFor(challenge);
    const charges = countingCharges(api.storefront);
    const real = api.storefront.payments;
    await withPorts(
      api.storefront,
      { payments: crashing(real, { charge: { when: 'after' } }) },
      async () => {
        expect((await paidOrderReplies(body, credential)).status).toBe(500);
      },
    );
    // Past the challenge's expiry (15 minutes) and the crashed request's payment lock.
    clock.jump(20 * 60_000);
    const retry = await paidOrderReplies(body, credential);
    expect(retry.body.error).toBeUndefined();
    expect(retry.status).toBe(202);
    expect(retry.body).toMatchObject({ order_id: orderId, status: 'settled', is_paid: true });
    expect(charges.paid).toHaveLength(1);
    charges.stop();
  });

  it('still refuses an expired credential that never paid, and forgets its attempt', async () => {
    const body = orderBody();
    const challenge = await api.order(body);
    const orderId = String(challenge.body.order_id);
    const credential = credentialFor(challenge);
    clock.jump(20 * 60_000);
    const late = await paidOrderReplies(body, credential);
    expect(late.status).toBe(402);
    expect(late.body.error).toMatch(/expired/);
    const stored = await api.storefront.orders.get(orderId, clock.now());
    expect(stored).toMatchObject({ status: 'unpaid' });
    expect(stored?.payment_attempts).toBeUndefined();
    const fresh = await paidOrderReplies(body, credentialFor(late));
    expect(fresh.status).toBe(202);
  });

  const CRASH_POINTS = [
    { port: 'orders', step: 'lockForPayment', when: 'after', beforeMoney: true },
    { port: 'payments', step: 'charge', when: 'before', beforeMoney: true },
    { port: 'payments', step: 'charge', when: 'after' },
    { port: 'orders', step: 'settle', when: 'before' },
    { port: 'orders', step: 'settle', when: 'after' },
    { port: 'machines', step: 'create', when: 'before' },
    { port: 'machines', step: 'create', when: 'after' },
    { port: 'leases', step: 'start', when: 'before' },
  ] as const;
  const REPAIRS = ['the same credential', 'a new credential', 'the sweeper'] as const;

  for (const crash of CRASH_POINTS) {
    for (const repair of REPAIRS) {
      it(`crash ${crash.when} ${crash.port}.${crash.step}, repaired by ${repair}: one charge, one machine`, async () => {
        const body = orderBody();
        const challenge = await api.order(body);
        const orderId = String(challenge.body.order_id);
        const credential = credentialFor(challenge);
        const charges = countingCharges(api.storefront);
        const real = api.storefront[crash.port];
        await withPorts(
          api.storefront,
          { [crash.port]: crashing(real, { [crash.step]: { when: crash.when } }) },
          async () => {
            expect((await paidOrderReplies(body, credential)).status).toBe(500);
          },
        );
        // Time passes: the crashed request's payment lock lapses, its sweep falls due.
        clock.jump(4 * 60_000);
        if (repair === 'the sweeper') {
          const report = await sweepPayments(api.storefront);
          expect(report.failed).toBe(0);
          const order = await api.getOrder(orderId);
          // No money moved: the attempt is forgotten and the agent can still pay.
          expect(order.body).toMatchObject(
            'beforeMoney' in crash
              ? { status: 'unpaid', is_paid: false }
              : { status: 'settled', is_paid: true },
          );
          if ('beforeMoney' in crash) expect(report.forgotten).toBeGreaterThanOrEqual(1);
        }
        // An agent starting over asks again: a 402 (then pays with a new credential for the
        // same challenge), or at once its order, when the crashed request had settled it.
        const fresh = repair === 'a new credential' ? await api.order(body) : undefined;
        const retry =
          fresh === undefined
            ? await paidOrderReplies(body, credential)
            : fresh.status === 402
              ? await paidOrderReplies(body, credentialFor(fresh))
              : fresh;
        expect(retry.status).toBe(202);
        expect(retry.body).toMatchObject({ order_id: orderId, status: 'settled', is_paid: true });
        const machine = retry.body.machine as { machine_id: string };
        expect(api.fleet.workflow.execution(machine.machine_id)).toBeDefined();
        // Exactly one charge, whose receipt is the one the agent gets.
        expect(charges.paid).toHaveLength(1);
        const stored = await api.storefront.orders.get(orderId, clock.now());
        expect(stored?.payment?.reference).toBe(
          `test_${Credential.deserialize(credential).challenge.id.slice(0, 24)}`,
        );
        expect(stored?.payment_attempts).toBeUndefined();
        charges.stop();
      });
    }
  }
});

describe('a second payment for a settled order', () => {
  let api: Harness;
  const clock = offsetClock();
  beforeAll(async () => {
    api = await startHarness({ clock });
  });
  afterAll(() => api.close());

  it('is recorded as owed before it is refunded, and the sweeper refunds it if that failed', async () => {
    const { orderId } = await buyMachine(api);
    const order = await api.storefront.orders.get(orderId, clock.now());
    if (!order) throw new Error('the order was not stored');
    const second = { method: 'test', reference: 'test_second_payment', receipt_header: 'r' };
    await withPorts(
      api.storefront,
      { refunds: crashing(api.storefront.refunds, { refund: { when: 'before' } }) },
      async () => {
        // A payment taken after the lock lapsed, for an order settled meanwhile.
        const outcome = await settleOrder(api.storefront, order, second);
        expect(outcome.order.payment?.reference).not.toBe(second.reference);
      },
    );
    const owed = await api.storefront.orders.get(orderId, clock.now());
    expect(owed?.duplicate_payments?.[second.reference]).toMatchObject({ amount_cents: 399 });
    expect(owed?.duplicate_payments?.[second.reference]?.refund).toBeUndefined();
    clock.jump(4 * 60_000);
    await sweepPayments(api.storefront);
    const refunded = await api.storefront.orders.get(orderId, clock.now());
    expect(refunded?.duplicate_payments?.[second.reference]?.refund).toMatchObject({
      status: 'refunded',
      amount_cents: 399,
    });
  });
});

/** Counts the charges the real payment gateway makes (what took money), until stopped. */
function countingCharges(storefront: Storefront) {
  const real = storefront.payments;
  const paid: string[] = [];
  storefront.payments = {
    ...real,
    methods: real.methods,
    minimumChargeCents: real.minimumChargeCents,
    readCredential: (request, taken) => real.readCredential(request, taken),
    recover: (attempt) => real.recover(attempt),
    challenge: (request, terms, reason) => real.challenge(request, terms, reason),
    charge: async (request, terms) => {
      const outcome = await real.charge(request, terms);
      if (outcome.kind === 'paid') paid.push(outcome.payment.reference);
      return outcome;
    },
  };
  return {
    paid,
    stop: () => {
      storefront.payments = real;
    },
  };
}
