import { randomUUID } from 'node:crypto';
import { ApiProblem, conflict } from '../errors.js';
import { newMachineId, orderIdFor } from '../ids.js';
import type { MachineWithManagement } from '../machine.js';
import type { OrderRecord, PaymentRecord } from '../order.js';
import type { ChargeOutcome } from '../ports.js';
import { quoteLease } from '../pricing.js';
import {
  type CreateMachineRequest,
  orderFingerprint,
  parseCreateMachineRequest,
} from '../requests.js';
import { fulfilOrder } from './fulfil-order.js';
import { requireCapacityForNewSale } from './require-capacity.js';
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
  await requireCapacityForNewSale(storefront, request);
  let order = await openOrder(storefront, request, 'mpp');

  if (order.status === 'settled') return settledOutcome(storefront, order, request);

  order = await keepChallengeFresh(storefront, order);
  const terms = {
    amountCents: order.amount_cents,
    description: `Lease of ${order.product_id} for ${order.duration_minutes} minutes`,
    externalId: order.order_id,
    expires: order.challenge_expires_at,
    binding: {
      order_id: order.order_id,
      request_id: order.request_id,
      body_sha256: order.fingerprint,
    },
  };

  if (!payments.credentialPresented(httpRequest)) {
    const refusal = await payments.charge(httpRequest, terms);
    if (refusal.kind === 'paid') throw new Error('payment accepted without a credential');
    return { kind: 'payment_required', order, refusal };
  }

  const lockOwner = randomUUID();
  const now = clock.now();
  const locked = await orders.lockForPayment(
    order.order_id,
    lockOwner,
    new Date(now.getTime() + settings.paymentLockSeconds * 1000),
    now,
  );
  if (!locked) {
    const current = await orders.get(order.order_id, clock.now());
    if (current?.status === 'settled') return settledOutcome(storefront, current, request);
    throw new ApiProblem(
      'payment_in_progress',
      'a payment for this order is already being processed; retry the same request in a few seconds',
    );
  }

  let outcome: ChargeOutcome;
  try {
    outcome = await payments.charge(httpRequest, terms);
  } catch (error) {
    await orders.releasePaymentLock(order.order_id, lockOwner);
    throw error;
  }
  if (outcome.kind === 'refused') {
    await orders.releasePaymentLock(order.order_id, lockOwner);
    log.info('order.payment_refused', { order_id: order.order_id, reason: outcome.reason });
    return { kind: 'payment_required', order, refusal: outcome };
  }

  const machineId = newMachineId();
  const settled = await orders.settle(order.order_id, {
    payment: outcome.payment,
    machineId,
    settledAt: clock.now().toISOString(),
  });
  if (settled) {
    log.info('order.settled', {
      order_id: order.order_id,
      machine_id: machineId,
      method: outcome.payment.method,
      amount_cents: order.amount_cents,
    });
    return settledOutcome(storefront, settled, request, true);
  }
  const current = await orders.get(order.order_id, clock.now());
  if (current?.status !== 'settled') {
    throw new Error(`order ${order.order_id} was charged but could not be settled`);
  }
  // Another attempt settled first (our lock had lapsed mid-charge): this payment is a duplicate.
  await refundDuplicatePayment(storefront, order, outcome.payment);
  return settledOutcome(storefront, current, request);
}

async function refundDuplicatePayment(
  storefront: Storefront,
  order: OrderRecord,
  payment: PaymentRecord,
) {
  const fields = {
    order_id: order.order_id,
    payment_reference: payment.reference,
    method: payment.method,
  };
  try {
    const refund = await storefront.refunds.refund({
      payment,
      amountCents: order.amount_cents,
      idempotencyKey: `refund-duplicate-${payment.reference}`,
      reason: `a second payment for order ${order.order_id}`,
    });
    storefront.log.warn('order.duplicate_payment_refunded', {
      ...fields,
      refund_reference: refund?.reference,
    });
  } catch (error) {
    storefront.log.error('order.duplicate_payment_not_refunded', {
      ...fields,
      error: String(error),
    });
  }
}

export async function openOrder(
  storefront: Storefront,
  request: CreateMachineRequest,
  channel: OrderRecord['channel'],
): Promise<OrderRecord> {
  const { settings, orders, clock } = storefront;
  const now = clock.now();
  const orderId = orderIdFor(request.request_id, settings.keys.orderIdKey);
  const fingerprint = orderFingerprint(request);
  const quote = quoteLease(settings.catalog[request.product_id], request.duration_minutes);
  const order =
    (await orders.get(orderId, now)) ??
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
  const machine = await fulfilOrder(storefront, order, request, justSettled);
  return { kind: 'settled', order, machine, receiptHeader: order.payment?.receipt_header };
}
