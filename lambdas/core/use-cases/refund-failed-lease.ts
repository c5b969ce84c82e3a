import type { Clock, Logger, MachineStore, OrderStore, RefundGateway } from '../ports.js';
import { extensionRefundKey } from './conclude-extension.js';

export interface RefundDependencies {
  orders: Pick<OrderStore, 'get' | 'recordRefund' | 'updatePendingRefund'>;
  machines: Pick<MachineStore, 'get' | 'listExtensions' | 'recordExtensionRefund'>;
  refunds: RefundGateway;
  clock: Clock;
  log: Logger;
}

export interface RefundSummary {
  refunded_cents: number;
  refunds: string[];
}

/**
 * A lease that failed before the agent could use it is refunded in full: the order's
 * payment and every paid extension. Each refund is keyed by what it refunds and recorded
 * once, so running this again (a retried workflow step) never refunds twice.
 */
export async function refundFailedLease(
  deps: RefundDependencies,
  machineId: string,
): Promise<RefundSummary> {
  const { orders, machines, refunds, clock, log } = deps;
  const summary: RefundSummary = { refunded_cents: 0, refunds: [] };
  const machine = await machines.get(machineId, new Date(0));
  if (machine?.status !== 'failed' || machine.billing !== 'paid') return summary;

  const order = await orders.get(machine.order_id, clock.now());
  // A pending refund is asked for again: the gateway answers with its current status.
  if (order?.payment && order.refund?.status !== 'refunded') {
    const refund = await refunds.refund({
      payment: order.payment,
      amountCents: order.amount_cents,
      idempotencyKey: `refund-${order.order_id}`,
      reason: `machine ${machineId} could not be provided`,
    });
    if (refund && order.refund) await orders.updatePendingRefund(order.order_id, refund);
    else if (refund && (await orders.recordRefund(order.order_id, refund))) {
      summary.refunded_cents += refund.amount_cents;
      summary.refunds.push(refund.reference);
    }
  }
  for (const extension of await machines.listExtensions(machineId)) {
    if (!extension.payment || !extension.amount_cents) continue;
    if (extension.refund?.status === 'refunded') continue;
    const refund = await refunds.refund({
      payment: extension.payment,
      amountCents: extension.amount_cents,
      idempotencyKey: extensionRefundKey(machineId, extension.extension_key),
      reason: `extension of machine ${machineId}, which could not be provided`,
    });
    if (
      refund &&
      (await machines.recordExtensionRefund(machineId, extension.extension_key, refund)) &&
      !extension.refund
    ) {
      summary.refunded_cents += refund.amount_cents;
      summary.refunds.push(refund.reference);
    }
  }
  if (summary.refunds.length) log.info('lease.refunded', { machine_id: machineId, ...summary });
  return summary;
}
