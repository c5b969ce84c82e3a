import { type MachineView, toMachineView } from '../machine.js';
import { authorizeMachine } from './authorize-machine.js';
import type { Storefront } from './storefront.js';

/**
 * DELETE /api/machines/{id}. Marks the lease terminating and wakes its workflow, which
 * terminates the instance within seconds. Repeating it returns the current state.
 */
export async function terminateLease(
  storefront: Storefront,
  machineId: string,
  authorization: string | undefined,
): Promise<MachineView> {
  const { machines, leases, clock, log } = storefront;
  const machine = await authorizeMachine(storefront, machineId, authorization, 'terminate');
  const terminating = await machines.requestTermination(machine.machine_id, clock.now());
  if (terminating) {
    log.info('lease.termination_requested', { machine_id: machineId, was: machine.status });
    await leases.terminationRequested(terminating);
    return toMachineView(terminating);
  }
  const current = await machines.get(machine.machine_id, clock.now());
  return toMachineView(current ?? machine);
}
