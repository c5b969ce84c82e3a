import { type MachineView, toMachineView, unusedMinutesRefund } from '../machine.js';
import { authorizeMachine } from './authorize-machine.js';
import type { Storefront } from './storefront.js';

/**
 * DELETE /api/machines/{id}. Marks the lease terminating and wakes its workflow, which
 * terminates the instance within seconds. When the lease ends early, the same write records
 * its unused whole minutes as owed back (see `unusedMinutesRefund`) and lists the lease for
 * the payment sweeper, which makes the refund (`refundUnusedMinutes`) within minutes: this
 * function holds no payment keys. The answer says what is owed, and reads say when it is paid.
 * Repeating it returns the current state.
 */
export async function terminateLease(
  storefront: Storefront,
  machineId: string,
  authorization: string | undefined,
): Promise<MachineView> {
  const { machines, leases, clock, log, settings } = storefront;
  let machine = await authorizeMachine(storefront, machineId, authorization, 'terminate');
  // An extension or the activation may land between the read and the write: the write is
  // conditional on what the refund was computed from, and computed again if it changed.
  for (let attempt = 0; attempt < 5; attempt++) {
    const now = clock.now();
    const owed = settings.refundUnusedMinutes
      ? unusedMinutesRefund(machine, settings.catalog[machine.product_id], now)
      : undefined;
    const terminating = await machines.requestTermination(
      machine.machine_id,
      now,
      owed
        ? {
            basis: machine,
            owed: { ...owed, due_since: now.toISOString() },
            checkAt: now.toISOString(),
          }
        : undefined,
    );
    if (terminating) {
      log.info('lease.termination_requested', {
        machine_id: machineId,
        was: machine.status,
        ...(owed ? { refund_minutes: owed.minutes, refund_cents: owed.amount_cents } : {}),
      });
      await leases.terminationRequested(terminating);
      return toMachineView(terminating, clock.now());
    }
    const current = await machines.get(machine.machine_id, clock.now());
    if (!current || (current.status !== 'provisioning' && current.status !== 'active')) {
      return toMachineView(current ?? machine, clock.now());
    }
    machine = current;
  }
  throw new Error(`machine ${machineId} kept changing while it was being terminated`);
}
