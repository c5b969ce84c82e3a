import { randomUUID } from 'node:crypto';
import { ApiProblem } from '../../lambdas/core/errors.js';
import type { OrderRecord } from '../../lambdas/core/order.js';
import type { PaymentAttempt } from '../../lambdas/core/payment-records.js';
import { createUnpaidMachine } from '../../lambdas/core/use-cases/create-unpaid-machine.js';
import { placeOrder } from '../../lambdas/core/use-cases/place-order.js';
import { credential, type MoneyWorld, moneyTable } from '../support/money-world.js';
import { AGENT_KEY } from '../support/ssh-keys.js';

/**
 * placeOrder over the real order and machine stores (dynalite) with a scripted payment method:
 * one order gets at most one charge and one machine, whatever the retries, races and lost
 * answers, and the lock and attempts are left as the next request and the sweeper need them.
 */
const request = new Request('http://storefront.test/api/machine/mpp/orders', { method: 'POST' });
const MINUTE = 60_000;
const body = (overrides: Record<string, unknown> = {}) => ({
  request_id: randomUUID(),
  product_id: 'bare-linux-machine',
  duration_minutes: 60,
  ssh_public_key: AGENT_KEY,
  ...overrides,
});

describe('placeOrder', () => {
  let table: Awaited<ReturnType<typeof moneyTable>>;
  let world: MoneyWorld;
  beforeAll(async () => {
    table = await moneyTable();
  });
  afterAll(() => table.close());
  beforeEach(() => {
    world = table.fresh();
  });

  const place = (orderBody: Record<string, unknown>) =>
    placeOrder(world.storefront, request, orderBody);

  async function problemOf(promise: Promise<unknown>): Promise<ApiProblem> {
    const error = await promise.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    if (!(error instanceof ApiProblem)) throw new Error(`expected an ApiProblem, got ${error}`);
    return error;
  }

  /** Opens the order with a first, unpaid request: what an agent does before paying. */
  async function opened(orderBody = body()): Promise<OrderRecord> {
    const first = await place(orderBody);
    if (first.kind !== 'payment_required') throw new Error('expected a challenge');
    return first.order;
  }

  /** Records the order store's reads and puts, in the order made, while still making them. */
  function orderReadsAndPuts(): ('get' | 'open')[] {
    const calls: ('get' | 'open')[] = [];
    const { orders } = world;
    const get = orders.get.bind(orders);
    const open = orders.open.bind(orders);
    orders.get = (...args) => {
      calls.push('get');
      return get(...args);
    };
    orders.open = (...args) => {
      calls.push('open');
      return open(...args);
    };
    return calls;
  }

  async function lockHeldBy(orderId: string, owner: string, attempt?: PaymentAttempt) {
    const now = world.clock.now();
    return world.orders.lockForPayment(orderId, owner, now, now, attempt);
  }

  it('opens an unpaid order and answers with the terms of its challenge', async () => {
    const orderBody = body();
    const outcome = await place(orderBody);
    expect(outcome.kind).toBe('payment_required');
    const now = world.clock.now();
    const order = await world.orders.get(outcome.order.order_id, now);
    expect(order).toMatchObject({
      request_id: orderBody.request_id,
      product_id: 'bare-linux-machine',
      duration_minutes: 60,
      amount_cents: 399,
      currency: 'usd',
      status: 'unpaid',
      channel: 'mpp',
      created_at: now.toISOString(),
      challenge_expires_at: new Date(now.getTime() + 15 * MINUTE).toISOString(),
      unpaid_expires_at: Math.floor(now.getTime() / 1000) + 24 * 3600,
      ssh_public_key: AGENT_KEY,
    });
    // Nothing was charged: the charge call without a credential only makes the challenge.
    expect(world.payments.charges).toEqual([]);
    const item = await world.orderItem(outcome.order.order_id);
    expect(item.payment_lock_owner).toBeUndefined();
  });

  it('stores an order sent without payment with one conditional put, without reading it first', async () => {
    // Nearly every order sent without payment is new: a read before the put would be wasted.
    const calls = orderReadsAndPuts();
    await place(body());
    expect(calls).toEqual(['open']);
  });

  it('reads an order sent with a credential, and puts nothing for an order that exists', async () => {
    // A credential answers a challenge, so its order is nearly always stored already: a put
    // would be a failed conditional write.
    const orderBody = body();
    await opened(orderBody);
    const calls = orderReadsAndPuts();
    world.payments.presented = credential('read-first');
    expect((await place(orderBody)).kind).toBe('settled');
    expect(calls[0]).toBe('get');
    expect(calls).not.toContain('open');
  });

  it('names the policy at its relative path when no public base URL is configured', async () => {
    world.storefront.settings = { ...world.storefront.settings, publicBaseUrl: undefined };
    const orderBody = body();
    await opened(orderBody);
    world.payments.presented = credential('policy');
    await place(orderBody);
    expect(world.payments.charges[0]?.description).toBe(
      'Lease of bare-linux-machine for 60 minutes; paying accepts the acceptable-use policy /acceptable-use',
    );
  });

  it('names the policy under the public base URL when one is configured', async () => {
    world.storefront.settings = {
      ...world.storefront.settings,
      publicBaseUrl: 'https://shop.example/',
    };
    const orderBody = body();
    await opened(orderBody);
    world.payments.presented = credential('policy-url');
    await place(orderBody);
    expect(world.payments.charges[0]?.description).toBe(
      'Lease of bare-linux-machine for 60 minutes; paying accepts the acceptable-use policy https://shop.example/acceptable-use',
    );
  });

  it('binds the challenge to the order, its request_id and the body', async () => {
    const charged: unknown[] = [];
    world.payments.charge = async (_request, terms) => {
      charged.push(terms);
      return world.payments.refusal();
    };
    const orderBody = body();
    const outcome = await place(orderBody);
    expect(charged).toEqual([
      {
        amountCents: 399,
        description: expect.stringMatching(/^Lease of bare-linux-machine for 60 minutes; /),
        externalId: outcome.order.order_id,
        expires: outcome.order.challenge_expires_at,
        binding: {
          order_id: outcome.order.order_id,
          request_id: orderBody.request_id,
          body_sha256: outcome.order.fingerprint,
        },
      },
    ]);
  });

  it('charges a credential once, settles the order and creates its one machine', async () => {
    const orderBody = body();
    const order = await opened(orderBody);
    world.payments.presented = credential('a');
    const outcome = await place(orderBody);
    expect(outcome.kind).toBe('settled');
    if (outcome.kind !== 'settled') return;
    expect(outcome.receiptHeader).toBe('receipt-1');
    expect(world.payments.charges).toHaveLength(1);
    expect(world.payments.charges[0]).toMatchObject({
      amountCents: 399,
      externalId: order.order_id,
    });

    const now = world.clock.now();
    const item = await world.orderItem(order.order_id);
    expect(item).toMatchObject({
      status: 'settled',
      payment: { method: 'test', reference: 'pay_1', receipt_header: 'receipt-1' },
      machine_id: outcome.machine.machine_id,
      settled_at: now.toISOString(),
      payment_attempts: {},
      // Listed for the sweeper since the attempt was recorded (when the lock would lapse).
      sweep_sk: expect.stringContaining(new Date(now.getTime() + MINUTE).toISOString()),
    });
    expect(item.payment_lock_owner).toBeUndefined();
    expect(item.unpaid_expires_at).toBeUndefined();
    const machine = await world.machines.get(outcome.machine.machine_id, now);
    expect(machine).toMatchObject({
      status: 'provisioning',
      billing: 'paid',
      order_id: order.order_id,
      lease_minutes: 60,
      ssh_public_key: AGENT_KEY,
    });
    expect(world.leases.started).toEqual([outcome.machine.machine_id]);
    expect(world.log.entries.find((e) => e.event === 'order.settled')?.fields).toMatchObject({
      order_id: order.order_id,
      amount_cents: 399,
      method: 'test',
    });

    // A retry (another credential even) finds the order settled: no second charge or machine.
    world.payments.presented = credential('a-again');
    const retry = await place(orderBody);
    expect(retry).toMatchObject({ kind: 'settled', receiptHeader: 'receipt-1' });
    if (retry.kind === 'settled') expect(retry.machine.machine_id).toBe(outcome.machine.machine_id);
    expect(world.payments.charges).toHaveLength(1);
  });

  it('answers a retry more than a day after settlement with the machine it paid for', async () => {
    // Past the repair window a missing machine is never created again: the retry must look
    // the machine up rather than take it for one this request has just settled.
    const orderBody = body();
    await opened(orderBody);
    world.payments.presented = credential('a-day-later');
    const paid = await place(orderBody);
    if (paid.kind !== 'settled') throw new Error('expected a settled order');
    world.clock.advance(25 * 60 * MINUTE);
    const retry = await place(orderBody);
    expect(retry.kind).toBe('settled');
    if (retry.kind === 'settled') expect(retry.machine.machine_id).toBe(paid.machine.machine_id);
    expect(world.payments.charges).toHaveLength(1);
  });

  it('fails, rather than settle, when a method takes money without a credential', async () => {
    world.payments.charge = async () => ({ kind: 'paid', payment: world.payments.payment() });
    await expect(place(body())).rejects.toThrow('payment accepted without a credential');
  });

  it('refuses a request_id reused for another order, without charging', async () => {
    const orderBody = body();
    await opened(orderBody);
    world.payments.presented = credential('b');
    const other = await problemOf(place({ ...orderBody, duration_minutes: 61 }));
    expect(other.kind).toBe('conflict');
    expect(other.message).toContain('send a new request_id for a new order');
    expect(world.payments.charges).toEqual([]);
  });

  describe('a request_id used on both order endpoints', () => {
    const unpaidCreateAllowed = () => {
      world.storefront.settings = { ...world.storefront.settings, allowUnpaidCreate: true };
    };

    it('refuses an unpaid machine for an order opened for payment, and leaves it unpaid', async () => {
      unpaidCreateAllowed();
      const orderBody = body();
      const order = await opened(orderBody);
      const refused = await problemOf(createUnpaidMachine(world.storefront, orderBody));
      expect(refused.kind).toBe('conflict');
      expect(refused.message).toContain('send a new request_id for a new order');
      const item = await world.orderItem(order.order_id);
      expect(item.status).toBe('unpaid');
      expect(item.machine_id).toBeUndefined();
      expect(world.leases.started).toEqual([]);
    });

    it('refuses a paid order for a request_id that made an unpaid machine, without charging', async () => {
      unpaidCreateAllowed();
      const orderBody = body();
      await createUnpaidMachine(world.storefront, orderBody);
      expect((await problemOf(place(orderBody))).kind).toBe('conflict');
      world.payments.presented = credential('other-endpoint');
      expect((await problemOf(place(orderBody))).kind).toBe('conflict');
      expect(world.payments.charges).toEqual([]);
      expect(world.leases.started).toHaveLength(1);
    });

    it('answers a retry of an unpaid machine from a read, without a second put', async () => {
      // Unpaid creates are idempotent on request_id, so retries are expected and find their
      // order: a read answers them, where a put would be a failed conditional write first.
      unpaidCreateAllowed();
      const orderBody = body();
      const first = await createUnpaidMachine(world.storefront, orderBody);
      const calls = orderReadsAndPuts();
      const retry = await createUnpaidMachine(world.storefront, orderBody);
      expect(retry.machine_id).toBe(first.machine_id);
      expect(calls).toEqual(['get']);
    });
  });

  it('charges nothing while another request holds the payment lock', async () => {
    const orderBody = body();
    const order = await opened(orderBody);
    const now = world.clock.now();
    await world.orders.lockForPayment(
      order.order_id,
      'other-request',
      new Date(now.getTime() + MINUTE),
      now,
    );
    world.payments.presented = credential('c');
    const busy = await problemOf(place(orderBody));
    expect(busy.kind).toBe('payment_in_progress');
    expect(busy.message).toContain('retry the same request in a few seconds');
    expect(world.payments.charges).toEqual([]);
    expect((await world.orderItem(order.order_id)).payment_lock_owner).toBe('other-request');
  });

  it('answers a request that lost the lock to a settling request with the settled order', async () => {
    const orderBody = body();
    await opened(orderBody);
    world.payments.presented = credential('d');
    // A second request arrives while the first is being charged.
    let second: ReturnType<typeof place> | undefined;
    world.payments.duringCharge = async () => {
      world.payments.duringCharge = undefined;
      second = place(orderBody);
      // The second request is refused the lock before the first settles.
      expect(await problemOf(second)).toMatchObject({ kind: 'payment_in_progress' });
    };
    const first = await place(orderBody);
    expect(first.kind).toBe('settled');
    expect(second).toBeDefined();
    const third = await place(orderBody);
    expect(third.kind).toBe('settled');
    expect(world.payments.charges).toHaveLength(1);
  });

  it('releases the lock and forgets the attempt of a refused charge', async () => {
    const orderBody = body();
    const order = await opened(orderBody);
    world.payments.presented = credential('e');
    world.payments.chargeAnswers.push(world.payments.refusal('declined'));
    const outcome = await place(orderBody);
    expect(outcome).toMatchObject({ kind: 'payment_required', refusal: { reason: 'declined' } });
    const item = await world.orderItem(order.order_id);
    expect(item.payment_attempts).toEqual({});
    expect(item.payment_lock_owner).toBeUndefined();
    expect(item.status).toBe('unpaid');
    expect(world.log.entries.find((e) => e.event === 'order.payment_refused')?.fields).toEqual({
      order_id: order.order_id,
      reason: 'declined',
    });
  });

  it('keeps the attempt of a charge whose outcome is unknown, for recovery', async () => {
    const orderBody = body();
    const order = await opened(orderBody);
    world.payments.presented = credential('f');
    world.payments.chargeAnswers.push(world.payments.refusal('processing', true));
    await place(orderBody);
    const item = await world.orderItem(order.order_id);
    expect(Object.values(item.payment_attempts as object)).toMatchObject([
      {
        key: credential('f').digest.slice(0, 32),
        challenge_id: 'challenge-f',
        method: 'test',
        external_id: order.order_id,
        amount_cents: 399,
        started_at: world.clock.now().toISOString(),
      },
    ]);
    expect(item.payment_lock_owner).toBeUndefined();
    expect(item.sweep_pk).toBeDefined();
  });

  it('keeps the attempt when the charge throws, and releases the lock', async () => {
    const orderBody = body();
    const order = await opened(orderBody);
    world.payments.presented = credential('g');
    world.payments.chargeAnswers.push(new Error('socket hang up'));
    await expect(place(orderBody)).rejects.toThrow('socket hang up');
    const item = await world.orderItem(order.order_id);
    expect(Object.keys(item.payment_attempts as object)).toHaveLength(1);
    expect(item.payment_lock_owner).toBeUndefined();
  });

  it('refuses a credential whose challenge expired, without charging it', async () => {
    const orderBody = body();
    const order = await opened(orderBody);
    const expires = new Date(world.clock.now().getTime() - 1).toISOString();
    world.payments.presented = credential('h', { expires });
    const outcome = await place(orderBody);
    expect(outcome.kind).toBe('payment_required');
    expect(world.payments.charges).toEqual([]);
    expect(world.payments.challenges[0]?.reason).toContain(`expired at ${expires}`);
    expect(world.payments.challenges[0]?.terms.externalId).toBe(order.order_id);
    const item = await world.orderItem(order.order_id);
    expect(item.payment_attempts).toEqual({});
    expect(item.payment_lock_owner).toBeUndefined();
  });

  it('refuses something in the Payment scheme that is no credential without recording an attempt', async () => {
    const orderBody = body();
    const order = await opened(orderBody);
    world.payments.presented = { kind: 'unreadable' };
    world.payments.chargeAnswers.push(world.payments.refusal('malformed'));
    const outcome = await place(orderBody);
    expect(outcome.kind).toBe('payment_required');
    const item = await world.orderItem(order.order_id);
    expect(item.payment_attempts).toEqual({});
    expect(item.payment_lock_owner).toBeUndefined();
  });

  describe('the challenge expiry', () => {
    it('is kept while more than five minutes are left, so the challenge id stays stable', async () => {
      const orderBody = body();
      const order = await opened(orderBody);
      world.clock.set(new Date(Date.parse(order.challenge_expires_at) - 5 * MINUTE - 1));
      const again = await place(orderBody);
      expect(again.order.challenge_expires_at).toBe(order.challenge_expires_at);
      expect((await world.orderItem(order.order_id)).challenge_expires_at).toBe(
        order.challenge_expires_at,
      );
    });

    it('is renewed once five minutes or less are left', async () => {
      const orderBody = body();
      const order = await opened(orderBody);
      world.clock.set(new Date(Date.parse(order.challenge_expires_at) - 5 * MINUTE));
      const renewed = new Date(world.clock.now().getTime() + 15 * MINUTE).toISOString();
      const calls = orderReadsAndPuts();
      const again = await place(orderBody);
      expect(again.order.challenge_expires_at).toBe(renewed);
      expect((await world.orderItem(order.order_id)).challenge_expires_at).toBe(renewed);
      // The renewal's conditional write succeeded, so this request knows the stored expiry:
      // reading the order back would be a wasted read on every renewal.
      expect(calls).not.toContain('get');
    });

    it('renews within a third of a short validity (less than five minutes)', async () => {
      world.storefront.settings = { ...world.storefront.settings, challengeValidityMinutes: 6 };
      const orderBody = body();
      const order = await opened(orderBody);
      // Six-minute challenges are renewed in their last two minutes, not their last five.
      world.clock.set(new Date(Date.parse(order.challenge_expires_at) - 2 * MINUTE - 1));
      expect((await place(orderBody)).order.challenge_expires_at).toBe(order.challenge_expires_at);
      world.clock.set(new Date(Date.parse(order.challenge_expires_at) - 2 * MINUTE));
      expect((await place(orderBody)).order.challenge_expires_at).toBe(
        new Date(world.clock.now().getTime() + 6 * MINUTE).toISOString(),
      );
    });

    it('takes the stored renewal when another request renewed it first', async () => {
      const orderBody = body();
      const order = await opened(orderBody);
      world.clock.set(new Date(Date.parse(order.challenge_expires_at) - MINUTE));
      const theirs = new Date(world.clock.now().getTime() + 14 * MINUTE).toISOString();
      const renew = world.orders.renewChallenge.bind(world.orders);
      world.orders.renewChallenge = async (orderId, from, to) => {
        await renew(orderId, from, theirs);
        return renew(orderId, from, to);
      };
      const again = await place(orderBody);
      expect(again.order.challenge_expires_at).toBe(theirs);
    });
  });

  describe('when the product cannot be launched', () => {
    const unavailable = () => {
      world.storefront.capacity = {
        check: async () => ({ available: false, reason: 'no capacity', retryAfterSeconds: 60 }),
      };
    };

    it('opens no order and charges nothing', async () => {
      unavailable();
      const orderBody = body();
      const refused = await problemOf(place(orderBody));
      expect(refused.kind).toBe('unavailable');
      world.payments.presented = credential('i');
      expect((await problemOf(place(orderBody))).kind).toBe('unavailable');
      expect(world.payments.charges).toEqual([]);
    });

    it('still answers a retry of an order already paid for', async () => {
      const orderBody = body();
      await opened(orderBody);
      world.payments.presented = credential('j');
      await place(orderBody);
      unavailable();
      expect((await place(orderBody)).kind).toBe('settled');
      world.payments.presented = { kind: 'none' };
      expect((await place(orderBody)).kind).toBe('settled');
      expect(world.payments.charges).toHaveLength(1);
    });
  });

  describe('an earlier attempt left unconcluded', () => {
    const earlierAttempt = (orderId: string, key = 'earlier'): PaymentAttempt => ({
      key,
      challenge_id: `challenge-${key}`,
      method: 'test',
      external_id: orderId,
      amount_cents: 399,
      started_at: world.clock.now().toISOString(),
      owner: 'a-request-that-died',
    });

    it('that took the money settles the order with it: nothing is charged again', async () => {
      const orderBody = body();
      const order = await opened(orderBody);
      await lockHeldBy(order.order_id, 'a-request-that-died', earlierAttempt(order.order_id));
      world.payments.recoveries.set('earlier', {
        kind: 'charged',
        payment: { method: 'test', reference: 'pay_earlier', receipt_header: 'receipt-earlier' },
      });
      world.clock.advance(1000);
      world.payments.presented = credential('k');
      const outcome = await place(orderBody);
      expect(outcome).toMatchObject({ kind: 'settled', receiptHeader: 'receipt-earlier' });
      expect(world.payments.charges).toEqual([]);
      expect(world.leases.started).toHaveLength(1);
      expect((await world.orderItem(order.order_id)).payment).toMatchObject({
        reference: 'pay_earlier',
      });
    });

    it('that took nothing is forgotten, and this credential is charged', async () => {
      const orderBody = body();
      const order = await opened(orderBody);
      await lockHeldBy(order.order_id, 'a-request-that-died', earlierAttempt(order.order_id));
      world.clock.advance(1000);
      world.payments.presented = credential('l');
      expect((await place(orderBody)).kind).toBe('settled');
      expect(world.payments.recovered.map((a) => a.key)).toEqual(['earlier']);
      expect(world.payments.charges).toHaveLength(1);
    });

    it('whose outcome is unknown stops this charge and keeps both on record', async () => {
      const orderBody = body();
      const order = await opened(orderBody);
      await lockHeldBy(order.order_id, 'a-request-that-died', earlierAttempt(order.order_id));
      world.payments.recoveries.set('earlier', { kind: 'unknown', reason: 'processing' });
      world.clock.advance(1000);
      world.payments.presented = credential('m');
      const waiting = await problemOf(place(orderBody));
      expect(waiting.kind).toBe('payment_in_progress');
      expect(waiting.message).toContain('retry the same request in a minute');
      expect(world.payments.charges).toEqual([]);
      const item = await world.orderItem(order.order_id);
      expect(Object.keys(item.payment_attempts as object)).toContain('earlier');
      expect(item.payment_lock_owner).toBeUndefined();
    });
  });
});
