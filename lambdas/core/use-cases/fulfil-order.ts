import { issueTokens, revealTokens } from '../capability-tokens.js';
import {
  type MachineRecord,
  type MachineWithManagement,
  newMachineRecord,
  toMachineView,
} from '../machine.js';
import type { OrderRecord } from '../order.js';
import type { CreateMachineRequest } from '../requests.js';
import type { Storefront } from './storefront.js';

/**
 * Brings a settled order to its machine: creates the machine if a crash left it missing,
 * (re)starts its workflow, and returns it with its management tokens. Safe to run any
 * number of times for the same order; it never creates a second machine.
 */
export async function fulfilOrder(
  storefront: Storefront,
  order: OrderRecord,
  request: CreateMachineRequest,
): Promise<MachineWithManagement> {
  const { settings, machines, leases, clock } = storefront;
  const machineId = order.machine_id;
  if (order.status !== 'settled' || !machineId) {
    throw new Error(`order ${order.order_id} is not settled`);
  }
  let machine: MachineRecord | undefined = await machines.get(machineId, clock.now());
  if (!machine) {
    machine = await machines.create(
      newMachineRecord({
        machineId,
        orderId: order.order_id,
        product: settings.catalog[order.product_id],
        billing: order.channel === 'mpp' ? 'paid' : 'unpaid',
        leaseMinutes: order.duration_minutes,
        sshPublicKey: request.ssh_public_key,
        provider: settings.provider,
        tokens: issueTokens(settings.keys.capabilityTokenKey, machineId),
        now: clock.now(),
        provisioningTimeoutMinutes: settings.provisioningTimeoutMinutes,
      }),
    );
  }
  if (machine.status === 'provisioning') await leases.start(machine);

  const management = revealTokens(settings.keys.capabilityTokenKey, machine.machine_id, machine);
  if (!management) {
    // Only possible if the storefront secret changed after the machine was created.
    throw new Error(`capability tokens of ${machine.machine_id} cannot be re-derived`);
  }
  return { ...toMachineView(machine), management };
}
