import type { CauseRefund, CauseRefundMode, ExtensionRecord, MachineRecord } from './machine.js';

export {
  CAUSE_REFUNDS,
  type CauseRefund,
  type CauseRefundMode,
  type LeaseEndCause,
} from './machine.js';

import type { OrderRecord } from './order.js';
import type { PaymentRecord } from './payment-records.js';
import type { Product } from './products.js';

export const causeRefundKey = (machineId: string, key: string) => `cause-${machineId}-${key}`;

/** The failure_reason the agent reads: the operator's reason, and the policy it breaks. */
export const endedForCauseReason = (reason: string, policyUrl: string) =>
  `ended for cause under the acceptable-use policy (${policyUrl}): ${reason}`;

/** Minutes of the lease not yet used: all of them before it is active, none after its end. */
export function unusedMinutes(machine: MachineRecord, now: Date): number {
  if (machine.status === 'provisioning') return machine.lease_minutes;
  if (machine.status !== 'active') return 0;
  const left = Math.floor((Date.parse(machine.expires_at) - now.getTime()) / 60_000);
  return Math.max(0, Math.min(machine.lease_minutes, left));
}

/**
 * Which payments give back how much: `full` refunds the order and every paid extension in
 * full, `unused` the unused minutes at the product's per-minute price (never the base fee,
 * never more than was paid), taken from the order's payment first, then the extensions',
 * `none` nothing. Payments already refunded or owed back by another path are left out.
 */
export function planCauseRefunds(
  machine: MachineRecord,
  order: OrderRecord | undefined,
  product: Product,
  mode: CauseRefundMode,
  now: Date,
): Record<string, CauseRefund> {
  if (mode === 'none' || machine.billing !== 'paid') return {};
  const paid: [string, PaymentRecord, number][] = [];
  if (order?.payment && !order.refund && order.payment.method !== 'none')
    paid.push(['order', order.payment, order.amount_cents]);
  for (const extension of Object.values(machine.extensions ?? {}) as ExtensionRecord[]) {
    if (!extension.payment || !extension.amount_cents) continue;
    if (extension.refund_due || extension.refund) continue;
    paid.push([`extension-${extension.extension_key}`, extension.payment, extension.amount_cents]);
  }
  let left =
    mode === 'full'
      ? Number.POSITIVE_INFINITY
      : unusedMinutes(machine, now) * product.centsPerMinute;
  const plan: Record<string, CauseRefund> = {};
  for (const [key, payment, amount] of paid) {
    const share = Math.min(amount, left);
    if (share <= 0) break;
    plan[key] = { payment, amount_cents: share };
    left -= share;
  }
  return plan;
}
