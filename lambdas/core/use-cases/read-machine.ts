import { type MachineView, toMachineView } from '../machine.js';
import { authorizeMachine } from './authorize-machine.js';
import type { Storefront } from './storefront.js';

export async function readMachine(
  storefront: Storefront,
  machineId: string,
  authorization: string | undefined,
): Promise<MachineView> {
  return toMachineView(await authorizeMachine(storefront, machineId, authorization, 'read'));
}
