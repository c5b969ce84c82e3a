import { ApiProblem } from '../errors.js';
import { newMachineId } from '../ids.js';
import type { MachineWithManagement } from '../machine.js';
import { parseCreateMachineRequest } from '../requests.js';
import { fulfilOrder } from './fulfil-order.js';
import { openOrder } from './place-order.js';
import { MACHINE_CHECK_MINUTES } from './settle-payment.js';
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
  const order = await openOrder(storefront, request, 'unpaid');
  if (order.status !== 'unpaid')
    return fulfilOrder(storefront, order, request.ssh_public_key, false);
  const now = clock.now();
  const settled = await orders.settle(order.order_id, {
    payment: { method: 'none', reference: 'unpaid-create' },
    machineId: newMachineId(),
    settledAt: now.toISOString(),
    checkAt: new Date(now.getTime() + MACHINE_CHECK_MINUTES * 60_000).toISOString(),
  });
  if (settled) {
    log.info('machine.created_unpaid', {
      order_id: settled.order_id,
      machine_id: settled.machine_id,
    });
    return fulfilOrder(storefront, settled, request.ssh_public_key, true);
  }
  // A concurrent identical request settled it first.
  const current = await orders.get(order.order_id, clock.now());
  if (!current) throw new Error(`order ${order.order_id} vanished while settling`);
  return fulfilOrder(storefront, current, request.ssh_public_key, false);
}
