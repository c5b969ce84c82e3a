import type { MachineStatus, MachineWithManagement } from './machine.js';
import type {
  DuplicatePayment,
  PaymentAttempt,
  PaymentRecord,
  RefundRecord,
} from './payment-records.js';
import { formatCents } from './pricing.js';
import type { ProductId } from './products.js';

export type OrderStatus = 'unpaid' | 'settled';

export interface OrderRecord {
  order_id: string;
  request_id: string;
  /** Hash of the normalised body; a retry with a different body is refused. */
  fingerprint: string;
  product_id: ProductId;
  duration_minutes: number;
  amount_cents: number;
  currency: 'usd';
  status: OrderStatus;
  /** Which endpoint opened the order: the paid MPP one or the unpaid create. */
  channel: 'mpp' | 'unpaid';
  created_at: string;
  /** Fixed expiry of the order's payment challenge, so the challenge id is stable across retries. */
  challenge_expires_at: string;
  /** Unpaid orders vanish after this (epoch seconds); settled orders keep no expiry. */
  unpaid_expires_at?: number;
  settled_at?: string;
  payment?: PaymentRecord;
  machine_id?: string;
  /** The payment given back, when the machine could not be provided. */
  refund?: RefundRecord;
  /** The agent's public key, so a crash repair can create the machine without the agent. */
  ssh_public_key?: string;
  /** Credentials being charged and not yet settled or refused, by attempt key. */
  payment_attempts?: Record<string, PaymentAttempt>;
  /** Second payments for an order already settled (a lapsed lock), owed back, by reference. */
  duplicate_payments?: Record<string, DuplicatePayment>;
}

export interface OrderView {
  order_id: string;
  status: OrderStatus;
  payment_status: 'unpaid' | 'paid';
  is_paid: boolean;
  current_step: string;
  order_complete_url: string;
  machine_id?: string;
  machine?: MachineWithManagement;
  refund?: {
    status: RefundRecord['status'];
    amount: string;
    amount_cents: number;
    refunded_at: string;
  };
}

/** What the agent should do or wait for next, in one word they can switch on. */
function currentStep(order: OrderRecord, machineStatus?: MachineStatus): string {
  if (order.status === 'unpaid') return 'awaiting_payment';
  return machineStatus ?? 'provisioning';
}

export function toOrderView(
  order: OrderRecord,
  orderUrl: string,
  machineStatus: MachineStatus | undefined,
): OrderView {
  const paid = order.status === 'settled';
  return {
    order_id: order.order_id,
    status: order.status,
    payment_status: paid ? 'paid' : 'unpaid',
    is_paid: paid,
    current_step: currentStep(order, machineStatus),
    order_complete_url: orderUrl,
    ...(order.machine_id ? { machine_id: order.machine_id } : {}),
    ...(order.refund
      ? {
          refund: {
            status: order.refund.status,
            amount: formatCents(order.refund.amount_cents),
            amount_cents: order.refund.amount_cents,
            refunded_at: order.refund.refunded_at,
          },
        }
      : {}),
  };
}

export const isExpiredUnpaid = (order: OrderRecord, now: Date) =>
  order.status === 'unpaid' &&
  order.unpaid_expires_at !== undefined &&
  order.unpaid_expires_at * 1000 <= now.getTime();
