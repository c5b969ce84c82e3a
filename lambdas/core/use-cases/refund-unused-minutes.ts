import { type MachineRecord, unusedMinutesRefundKey } from '../machine.js';
import type { RefundRecord } from '../payment-records.js';
import type { Storefront } from './storefront.js';

/**
 * Gives back the unused minutes of a lease terminated early, as decided in the write that
 * terminated it (`unused_refund`). One idempotency key per lease and an amount fixed by that
 * write, so the DELETE request, a retry and the sweeper can all run it: the provider refunds
 * once. Refunded from the order's payment, never beyond its amount. Throws when the refund
 * cannot be made now; the machine stays on the sweeper's list until it is.
 */
export async function refundUnusedMinutes(
  storefront: Pick<Storefront, 'orders' | 'machines' | 'refunds' | 'log'>,
  machine: MachineRecord,
): Promise<RefundRecord | undefined> {
  const { orders, machines, refunds, log } = storefront;
  const owed = machine.unused_refund;
  if (!owed) return undefined;
  if (owed.refund?.status === 'refunded') return owed.refund;
  const order = await orders.get(machine.order_id, new Date(0));
  if (!order?.payment) {
    throw new Error(`order ${machine.order_id} of machine ${machine.machine_id} has no payment`);
  }
  const refund = await refunds.refund({
    payment: order.payment,
    amountCents: Math.min(owed.amount_cents, order.amount_cents),
    idempotencyKey: unusedMinutesRefundKey(machine.machine_id),
    reason: `${owed.minutes} unused minutes of machine ${machine.machine_id}, terminated early`,
  });
  if (!refund) return undefined;
  await machines.recordUnusedRefund(machine.machine_id, refund);
  log.info('lease.unused_minutes_refunded', {
    machine_id: machine.machine_id,
    minutes: owed.minutes,
    amount_cents: refund.amount_cents,
    status: refund.status,
  });
  return refund;
}
