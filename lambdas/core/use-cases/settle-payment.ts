import { ApiProblem } from '../errors.js';
import { newMachineId } from '../ids.js';
import type { OrderRecord } from '../order.js';
import type {
  DuplicatePayment,
  PaymentAttempt,
  PaymentRecord,
  RefundRecord,
} from '../payment-records.js';
import type { PresentedCredential } from '../ports.js';
import type { Storefront } from './storefront.js';

/** After settlement, the sweeper checks this much later that the order's machine runs. */
export const MACHINE_CHECK_MINUTES = 3;

const minutesAfter = (date: Date, minutes: number) =>
  new Date(date.getTime() + minutes * 60_000).toISOString();

/** The attempt recorded, before any money moves, for a credential about to be charged. */
export function attemptFor(
  credential: Extract<PresentedCredential, { kind: 'credential' }>,
  charge: { externalId: string; amountCents: number },
  owner: string,
  now: Date,
): PaymentAttempt {
  return {
    key: credential.digest.slice(0, 32),
    challenge_id: credential.challengeId,
    method: credential.method,
    external_id: charge.externalId,
    amount_cents: charge.amountCents,
    started_at: now.toISOString(),
    owner,
  };
}

/**
 * unpaid → settled with the payment that was taken. If another request settled the order
 * first (its payment lock had lapsed mid-charge), this payment is a second one: it is given back.
 */
export async function settleOrder(
  storefront: Storefront,
  order: OrderRecord,
  payment: PaymentRecord,
): Promise<{ order: OrderRecord; justSettled: boolean }> {
  const { orders, clock, log } = storefront;
  const now = clock.now();
  const machineId = newMachineId();
  const settled = await orders.settle(order.order_id, {
    payment,
    machineId,
    settledAt: now.toISOString(),
    checkAt: minutesAfter(now, MACHINE_CHECK_MINUTES),
  });
  if (settled) {
    log.info('order.settled', {
      order_id: order.order_id,
      machine_id: machineId,
      method: payment.method,
      amount_cents: order.amount_cents,
    });
    return { order: settled, justSettled: true };
  }
  const current = await orders.get(order.order_id, clock.now());
  if (current?.status !== 'settled') {
    throw new Error(`order ${order.order_id} was charged but could not be settled`);
  }
  if (current.payment?.reference !== payment.reference) {
    await refundDuplicatePayment(storefront, order, payment);
  }
  return { order: current, justSettled: false };
}

/**
 * A second payment for a settled order is recorded as owed back first (one write, which also
 * lists the order for the sweeper), then refunded; the sweeper retries until it is confirmed.
 */
async function refundDuplicatePayment(
  storefront: Storefront,
  order: OrderRecord,
  payment: PaymentRecord,
) {
  const now = storefront.clock.now().toISOString();
  await storefront.orders.recordDuplicatePayment(
    order.order_id,
    { payment, amount_cents: order.amount_cents, due_since: now },
    now,
  );
  await refundDuplicate(storefront, order.order_id, {
    payment,
    amount_cents: order.amount_cents,
    due_since: now,
  });
}

/** Refunds one duplicate payment and records it; an error is logged and left to the sweeper. */
export async function refundDuplicate(
  storefront: Pick<Storefront, 'orders' | 'refunds' | 'log'>,
  orderId: string,
  duplicate: DuplicatePayment,
): Promise<RefundRecord | undefined> {
  const fields = {
    order_id: orderId,
    payment_reference: duplicate.payment.reference,
    method: duplicate.payment.method,
  };
  try {
    const refund = await storefront.refunds.refund({
      payment: duplicate.payment,
      amountCents: duplicate.amount_cents,
      idempotencyKey: `refund-duplicate-${duplicate.payment.reference}`,
      reason: `a second payment for order ${orderId}`,
    });
    if (refund) {
      await storefront.orders.recordDuplicateRefund(orderId, duplicate.payment.reference, refund);
    }
    storefront.log.warn('order.duplicate_payment_refunded', {
      ...fields,
      refund_reference: refund?.reference,
      status: refund?.status,
    });
    return refund;
  } catch (error) {
    storefront.log.error('order.duplicate_payment_not_refunded', {
      ...fields,
      error: String(error),
    });
    return undefined;
  }
}

/**
 * Finishes the attempts an earlier request recorded and never concluded (it crashed, timed
 * out, or lost the provider's answer), while this caller holds the order's payment lock:
 * one that took money settles the order; one that took none is forgotten; one the provider
 * cannot answer for yet stops everything, so no second credential is charged meanwhile.
 * Returns the settled order when an earlier attempt paid for it.
 */
export async function finishEarlierAttempts(
  storefront: Storefront,
  order: OrderRecord,
  lockOwner: string,
): Promise<{ order: OrderRecord; justSettled: boolean } | undefined> {
  const { orders, payments, log } = storefront;
  for (const attempt of Object.values(order.payment_attempts ?? {})) {
    if (attempt.owner === lockOwner) continue;
    const recovery = await payments.recover(attempt);
    log.info('order.attempt_recovered', {
      order_id: order.order_id,
      challenge_id: attempt.challenge_id,
      method: attempt.method,
      outcome: recovery.kind,
    });
    if (recovery.kind === 'charged') return settleOrder(storefront, order, recovery.payment);
    if (recovery.kind === 'not_charged') {
      await orders.forgetAttempt(order.order_id, lockOwner, attempt.key);
      continue;
    }
    await orders.releasePaymentLock(order.order_id, lockOwner);
    throw new ApiProblem(
      'payment_in_progress',
      'an earlier payment for this order is still being confirmed with the payment provider; retry the same request in a minute (it will not be charged twice)',
    );
  }
  return undefined;
}
