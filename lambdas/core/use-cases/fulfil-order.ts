import { issueTokens, revealTokens } from '../capability-tokens.js';
import { conflict, LeaseStartThrottled } from '../errors.js';
import { type MachineWithManagement, newMachineRecord, toMachineView } from '../machine.js';
import type { OrderRecord } from '../order.js';
import type { Storefront } from './storefront.js';

/**
 * How long after settlement a missing machine is taken for a crash between "settle" and
 * "create machine" and created. Past it, a missing machine is one that ended and whose
 * record expired: a retry must never turn an old payment into a new machine.
 */
export const MACHINE_REPAIR_WINDOW_MS = 24 * 3_600_000;

/**
 * Brings a settled order to its machine: finds it (or creates it, right after settlement or
 * as a crash repair), (re)starts its workflow, and returns it with its management tokens.
 * Safe to run any number of times for the same order; it never creates a second machine.
 */
export async function fulfilOrder(
  storefront: Storefront,
  order: OrderRecord,
  sshPublicKey: string,
  /** The order was settled by this very request, so its machine cannot exist yet. */
  justSettled = false,
): Promise<MachineWithManagement> {
  const { settings, machines, leases, clock } = storefront;
  const machineId = order.machine_id;
  if (order.status !== 'settled' || !machineId || !order.settled_at) {
    throw new Error(`order ${order.order_id} is not settled`);
  }
  const now = clock.now();
  const withinRepairWindow =
    now.getTime() - Date.parse(order.settled_at) < MACHINE_REPAIR_WINDOW_MS;
  // A retry usually finds the machine; only a fresh settlement (or a crash repair) creates it.
  const existing = justSettled ? undefined : await machines.get(machineId, now);
  const created =
    existing || !withinRepairWindow
      ? undefined
      : // A conditional put: it creates the machine once, and returns the stored one after that.
        await machines.create(
          newMachineRecord({
            machineId,
            orderId: order.order_id,
            product: settings.catalog[order.product_id],
            billing: order.channel === 'mpp' ? 'paid' : 'unpaid',
            leaseMinutes: order.duration_minutes,
            sshPublicKey,
            provider: settings.provider,
            tokens: issueTokens(settings.keys.capabilityTokenKey, machineId),
            now,
            provisioningTimeoutMinutes: settings.provisioningTimeoutMinutes,
          }),
        );
  const machine = existing ?? created;
  if (!machine) {
    throw conflict(
      `the machine of this order ended more than ${settings.retentionDays} days ago and is no longer kept; send a new request_id for a new order`,
    );
  }
  if (machine.status === 'provisioning') {
    try {
      await leases.start(machine);
    } catch (error) {
      // A paid order stays on the sweeper's list until its machine runs, and the sweeper starts
      // the workflow again (idempotent by machine id): a start refused now (StartExecution
      // throttled past its retries) is the sweeper's to repeat, not an error for an agent who paid.
      if (!(error instanceof LeaseStartThrottled && order.channel === 'mpp')) throw error;
      storefront.log.warn('lease.start_deferred', {
        machine_id: machine.machine_id,
        error: error.message,
      });
    }
  }

  const management = revealTokens(settings.keys.capabilityTokenKey, machine.machine_id, machine);
  if (!management) {
    // Only possible if the storefront secret changed after the machine was created.
    throw new Error(`capability tokens of ${machine.machine_id} cannot be re-derived`);
  }
  return { ...toMachineView(machine, clock.now()), management };
}
