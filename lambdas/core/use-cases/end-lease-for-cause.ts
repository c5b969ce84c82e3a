import {
  type CauseRefund,
  type CauseRefundMode,
  causeRefundKey,
  endedForCauseReason,
  planCauseRefunds,
} from '../end-for-cause.js';
import type { MachineRecord } from '../machine.js';
import type {
  Clock,
  LeaseWorkflow,
  Logger,
  MachineStore,
  OrderStore,
  RefundGateway,
} from '../ports.js';
import type { Catalog } from '../products.js';

export interface EndForCauseDependencies {
  machines: Pick<MachineStore, 'get' | 'endForCause'>;
  orders: Pick<OrderStore, 'get'>;
  leases: Pick<LeaseWorkflow, 'terminationRequested'>;
  catalog: Catalog;
  /** The acceptable-use policy's URL, named in the failure_reason. */
  policyUrl: string;
  clock: Clock;
  log: Logger;
}

export type EndForCauseOutcome =
  | { kind: 'ended'; machine: MachineRecord; refunds: Record<string, CauseRefund> }
  /** Ended for cause before: the first decision (and its refund) stands; woken again. */
  | { kind: 'already_ended'; machine: MachineRecord }
  | { kind: 'not_live'; machine: MachineRecord }
  | { kind: 'not_found' };

/**
 * Ends a lease for cause through its own workflow, as DELETE does: one conditional write marks
 * it terminating with the reason, the failure_reason naming the policy, and the refund
 * decided now (fixed amounts per payment); then its workflow is woken and terminates the
 * instance. Run again (a crash between the write and the wake), it wakes the workflow again
 * and changes nothing else: the refund chosen first is the one paid, once.
 */
export async function endLeaseForCause(
  deps: EndForCauseDependencies,
  machineId: string,
  decision: { reason: string; refund: CauseRefundMode; by: string },
): Promise<EndForCauseOutcome> {
  const { machines, orders, leases, clock, log } = deps;
  for (let attempt = 0; attempt < 3; attempt++) {
    const machine = await machines.get(machineId, new Date(0));
    if (!machine) return { kind: 'not_found' };
    if (machine.end_cause) {
      if (machine.status === 'terminating') await leases.terminationRequested(machine);
      return { kind: 'already_ended', machine };
    }
    if (machine.status !== 'provisioning' && machine.status !== 'active')
      return { kind: 'not_live', machine };
    const now = clock.now();
    const order = await orders.get(machine.order_id, new Date(0));
    const refunds = planCauseRefunds(
      machine,
      order,
      deps.catalog[machine.product_id],
      decision.refund,
      now,
    );
    const ended = await machines.endForCause(machineId, {
      cause: {
        reason: decision.reason,
        refund: decision.refund,
        ended_by: decision.by,
        ended_at: now.toISOString(),
      },
      failureReason: endedForCauseReason(decision.reason, deps.policyUrl),
      refunds,
      now,
    });
    // The lease changed meanwhile (activated, extended, ended): decide again on what it is now.
    if (!ended) continue;
    log.warn('lease.ended_for_cause', {
      machine_id: machineId,
      reason: decision.reason,
      refund: decision.refund,
      ended_by: decision.by,
      refund_cents: Object.values(refunds).reduce((sum, share) => sum + share.amount_cents, 0),
    });
    await leases.terminationRequested(ended);
    return { kind: 'ended', machine: ended, refunds };
  }
  throw new Error(`machine ${machineId} kept changing while being ended for cause; run it again`);
}

/**
 * Pays the for-cause refunds still owed on a machine (the sweeper calls this): each with the
 * idempotency key of its machine and payment, recorded once the provider answers. Returns how
 * many are still owed (failed or pending at the provider).
 */
export async function payCauseRefunds(
  deps: {
    refunds: RefundGateway;
    machines: Pick<MachineStore, 'recordCauseRefund'>;
    log: Logger;
  },
  machine: MachineRecord,
): Promise<number> {
  let owed = 0;
  for (const [key, share] of Object.entries(machine.cause_refunds ?? {})) {
    if (share.refund?.status === 'refunded') continue;
    try {
      const refund = await deps.refunds.refund({
        payment: share.payment,
        amountCents: share.amount_cents,
        idempotencyKey: causeRefundKey(machine.machine_id, key),
        reason: `machine ${machine.machine_id} ended for cause: ${machine.end_cause?.reason ?? 'policy violation'}`,
      });
      if (refund) await deps.machines.recordCauseRefund(machine.machine_id, key, refund);
      if (refund?.status !== 'refunded') owed++;
      deps.log.info('lease.cause_refund', {
        machine_id: machine.machine_id,
        key,
        amount_cents: share.amount_cents,
        status: refund?.status ?? 'none',
      });
    } catch (error) {
      owed++;
      deps.log.error('lease.cause_refund_failed', {
        machine_id: machine.machine_id,
        key,
        error: String(error),
      });
    }
  }
  return owed;
}
