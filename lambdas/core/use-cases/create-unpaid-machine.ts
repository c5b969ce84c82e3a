import { ApiProblem } from '../errors.js';
import { newMachineId } from '../ids.js';
import type { MachineWithManagement } from '../machine.js';
import { parseCreateMachineRequest } from '../requests.js';
import { fulfilOrder } from './fulfil-order.js';
import { openOrder } from './place-order.js';
import type { Storefront } from './storefront.js';

/**
 * POST /api/machines: a machine without payment, for operators who run a free or
 * internal storefront. Off unless configured; idempotent on request_id like a paid order.
 */
export async function createUnpaidMachine(
  storefront: Storefront,
  body: unknown,
): Promise<MachineWithManagement> {
  const { settings, orders, clock, log } = storefront;
  if (!settings.allowUnpaidCreate) {
    throw new ApiProblem(
      'unpaid_create_disabled',
      'unpaid machine creation is disabled on this storefront; order and pay with POST /api/machine/mpp/orders',
    );
  }
  const request = parseCreateMachineRequest(body, settings.catalog);
  let order = await openOrder(storefront, request, 'unpaid');
  if (order.status === 'unpaid') {
    const machineId = newMachineId();
    const settledAt = clock.now().toISOString();
    const settled =
      (await orders.settle(order.order_id, {
        payment: { method: 'none', reference: 'unpaid-create' },
        machineId,
        settledAt,
      })) ?? (await orders.get(order.order_id, clock.now()));
    if (!settled) throw new Error(`order ${order.order_id} vanished while settling`);
    order = settled;
    log.info('machine.created_unpaid', { order_id: order.order_id, machine_id: order.machine_id });
  }
  return fulfilOrder(storefront, order, request);
}
