import { randomUUID } from 'node:crypto';
import { acceptableUseUrl, acceptanceNote } from '../acceptable-use.js';
import { answersExpiredChallenge, expiredChallengeReason } from '../challenge-expiry.js';
import { ApiProblem, conflict } from '../errors.js';
import { orderIdFor } from '../ids.js';
import type { MachineWithManagement } from '../machine.js';
import type { OrderRecord } from '../order.js';
import type { ChargeOutcome } from '../ports.js';
import { quoteLease } from '../pricing.js';
import {
  type CreateMachineRequest,
  orderFingerprint,
  parseCreateMachineRequest,
} from '../requests.js';
import { fulfilOrder } from './fulfil-order.js';
import { requireCapacity } from './require-capacity.js';
import { attemptFor, finishEarlierAttempts, settleOrder } from './settle-payment.js';
import type { Storefront } from './storefront.js';

export type PlaceOrderOutcome =
  | {
      kind: 'settled';
      order: OrderRecord;
      machine: MachineWithManagement;
      receiptHeader: string | undefined;
    }
  | {
      kind: 'payment_required';
      order: OrderRecord;
      refusal: Extract<ChargeOutcome, { kind: 'refused' }>;
    };

const minutesFrom = (now: Date, minutes: number) => new Date(now.getTime() + minutes * 60_000);

/**
 * POST /api/machine/mpp/orders. The order id is derived from request_id, the body's
 * fingerprint pins what was ordered, a payment lock keeps two credentials from both being
 * charged, and settlement is a conditional write: however often and however concurrently
 * the agent retries, one order gets at most one payment and one machine.
 */
export async function placeOrder(
  storefront: Storefront,
  httpRequest: Request,
  body: unknown,
): Promise<PlaceOrderOutcome> {
  const { settings, orders, payments, clock, log } = storefront;
  const request = parseCreateMachineRequest(body, settings.catalog);
  const presented = payments.readCredential(httpRequest);
  let order = await openOrder(storefront, request, 'mpp', { expectNew: presented.kind === 'none' });

  if (order.status === 'settled') return settledOutcome(storefront, order, request);

  order = await keepChallengeFresh(storefront, order);
  const terms = {
    amountCents: order.amount_cents,
    description: `Lease of ${order.product_id} for ${order.duration_minutes} minutes; ${acceptanceNote(acceptableUseUrl(settings.publicBaseUrl ?? ''))}`,
    externalId: order.order_id,
    expires: order.challenge_expires_at,
    binding: {
      order_id: order.order_id,
      request_id: order.request_id,
      body_sha256: order.fingerprint,
    },
  };

  if (presented.kind === 'none') {
    const refusal = await payments.charge(httpRequest, terms);
    if (refusal.kind === 'paid') throw new Error('payment accepted without a credential');
    return { kind: 'payment_required', order, refusal };
  }
  const lockOwner = randomUUID();
  const now = clock.now();
  // Recorded in the lock's own write, before any money moves: a crash after the charge
  // leaves a trace that the next request (or the sweeper) turns into the settlement.
  const attempt =
    presented.kind === 'credential'
      ? attemptFor(
          presented,
          { externalId: order.order_id, amountCents: order.amount_cents },
          lockOwner,
          now,
        )
      : undefined;
  const locked = await orders.lockForPayment(
    order.order_id,
    lockOwner,
    new Date(now.getTime() + settings.paymentLockSeconds * 1000),
    now,
    attempt,
  );
  if (!locked) {
    const current = await orders.get(order.order_id, clock.now());
    if (current?.status === 'settled') return settledOutcome(storefront, current, request);
    throw new ApiProblem(
      'payment_in_progress',
      'a payment for this order is already being processed; retry the same request in a few seconds',
    );
  }
  const earlier = await finishEarlierAttempts(storefront, locked, lockOwner);
  if (earlier) return settledOutcome(storefront, earlier.order, request, earlier.justSettled);
  // Expiry is checked only now: a credential charged by a request whose answer was lost is
  // settled above, whatever its challenge's age (the agent's retry of a lost answer). Only a
  // credential that would be charged now is refused once its challenge has expired.
  if (answersExpiredChallenge(presented, clock.now())) {
    await orders.releasePaymentLock(order.order_id, lockOwner, attempt?.key);
    const reason = expiredChallengeReason(
      presented.kind === 'credential' ? presented.expires : undefined,
    );
    return {
      kind: 'payment_required',
      order,
      refusal: await payments.challenge(httpRequest, terms, reason),
    };
  }

  let outcome: ChargeOutcome;
  try {
    outcome = await payments.charge(httpRequest, terms);
  } catch (error) {
    // Nobody knows whether money moved: the attempt stays for recovery.
    await orders.releasePaymentLock(order.order_id, lockOwner);
    throw error;
  }
  if (outcome.kind === 'refused') {
    await orders.releasePaymentLock(
      order.order_id,
      lockOwner,
      outcome.outcomeUnknown ? undefined : attempt?.key,
    );
    log.info('order.payment_refused', { order_id: order.order_id, reason: outcome.reason });
    return { kind: 'payment_required', order, refusal: outcome };
  }
  const settled = await settleOrder(storefront, order, outcome.payment);
  return settledOutcome(storefront, settled.order, request, settled.justSettled);
}

export async function openOrder(
  storefront: Storefront,
  request: CreateMachineRequest,
  channel: OrderRecord['channel'],
  /**
   * Sent without payment, an order is nearly always new: it is then stored first (one
   * conditional put, which returns the stored order if there is one) rather than read first.
   */
  { expectNew = false }: { expectNew?: boolean } = {},
): Promise<OrderRecord> {
  const { settings, orders, clock } = storefront;
  const now = clock.now();
  const orderId = orderIdFor(request.request_id, settings.keys.orderIdKey);
  const fingerprint = orderFingerprint(request);
  const quote = quoteLease(settings.catalog[request.product_id], request.duration_minutes);
  const stored = await storedOrderIfAny(storefront, request, orderId, expectNew);
  const order =
    stored ??
    (await orders.open(
      {
        order_id: orderId,
        request_id: request.request_id,
        fingerprint,
        product_id: request.product_id,
        duration_minutes: request.duration_minutes,
        amount_cents: quote.amount_cents,
        currency: 'usd',
        status: 'unpaid',
        channel,
        created_at: now.toISOString(),
        challenge_expires_at: minutesFrom(now, settings.challengeValidityMinutes).toISOString(),
        ssh_public_key: request.ssh_public_key,
        unpaid_expires_at: Math.floor(now.getTime() / 1000) + settings.unpaidOrderTtlHours * 3600,
      },
      now,
    ));
  if (order.fingerprint !== fingerprint || order.channel !== channel) {
    throw conflict(
      'request_id was already used for a different order (another product, duration, SSH key or endpoint); send a new request_id for a new order',
    );
  }
  return order;
}

/**
 * The stored order of this request, read before anything is written (undefined when none was
 * read: with `expectNew` the conditional put returns it). Nothing is sold that cannot be
 * launched: capacity is checked before an order is stored or a challenge sent, while a retry
 * of an order already paid for is answered whatever the capacity now.
 */
async function storedOrderIfAny(
  storefront: Storefront,
  request: CreateMachineRequest,
  orderId: string,
  expectNew: boolean,
): Promise<OrderRecord | undefined> {
  const { orders, clock } = storefront;
  if (!expectNew) {
    const stored = await orders.get(orderId, clock.now());
    if (stored?.status !== 'settled') await requireCapacity(storefront, request);
    return stored;
  }
  try {
    await requireCapacity(storefront, request);
    return undefined;
  } catch (unavailable) {
    const stored = await orders.get(orderId, clock.now());
    if (stored?.status === 'settled') return stored;
    throw unavailable;
  }
}

/** Keeps the challenge id stable while it is fresh; renews it once it nears expiry. */
async function keepChallengeFresh(
  storefront: Storefront,
  order: OrderRecord,
): Promise<OrderRecord> {
  const { settings, orders, clock } = storefront;
  const now = clock.now();
  const renewalMargin = Math.min(5, settings.challengeValidityMinutes / 3);
  if (Date.parse(order.challenge_expires_at) > minutesFrom(now, renewalMargin).getTime())
    return order;
  const renewed = minutesFrom(now, settings.challengeValidityMinutes).toISOString();
  if (await orders.renewChallenge(order.order_id, order.challenge_expires_at, renewed)) {
    return { ...order, challenge_expires_at: renewed };
  }
  return (await orders.get(order.order_id, now)) ?? order;
}

async function settledOutcome(
  storefront: Storefront,
  order: OrderRecord,
  request: CreateMachineRequest,
  justSettled = false,
): Promise<PlaceOrderOutcome> {
  const machine = await fulfilOrder(storefront, order, request.ssh_public_key, justSettled);
  return { kind: 'settled', order, machine, receiptHeader: order.payment?.receipt_header };
}
