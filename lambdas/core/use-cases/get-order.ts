import { notFound } from '../errors.js';
import { ORDER_ID_PATTERN } from '../ids.js';
import { type OrderView, toOrderView } from '../order.js';
import type { Storefront } from './storefront.js';

/**
 * GET /api/machine/mpp/orders/{order_id}: unauthenticated polling, so it reports the
 * machine id and status but never the machine's management tokens.
 */
export async function getOrderStatus(
  storefront: Storefront,
  orderId: string,
  orderUrl: string,
): Promise<OrderView> {
  const { orders, machines, clock } = storefront;
  const order = ORDER_ID_PATTERN.test(orderId) ? await orders.get(orderId, clock.now()) : undefined;
  if (order?.channel !== 'mpp') throw notFound(`order ${orderId.slice(0, 64)} not found`);
  const machine = order.machine_id ? await machines.get(order.machine_id, clock.now()) : undefined;
  return toOrderView(order, orderUrl, machine?.status);
}
