import { type MachineView, toMachineView } from '../machine.js';
import { authorizeMachine } from './authorize-machine.js';
import type { Storefront } from './storefront.js';

export async function readMachine(
  storefront: Storefront,
  machineId: string,
  authorization: string | undefined,
): Promise<MachineView> {
  const machine = await authorizeMachine(storefront, machineId, authorization, 'read');
  return toMachineView(machine, storefront.clock.now());
}
