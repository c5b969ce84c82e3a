import type { MachineRecord } from './machine.js';

/**
 * Why a storefront instance must not keep running, or undefined if its lease still needs
 * it. `graceMinutes` leaves the lease workflow time to act first, so the reconciler only
 * catches what the workflow missed (a bug, a crash, a manual change).
 */
export function orphanReason(
  instanceId: string,
  machine: MachineRecord | undefined,
  now: Date,
  graceMinutes: number,
): string | undefined {
  if (!machine) return 'no lease exists for this instance';
  const graceMs = graceMinutes * 60_000;
  const past = (iso: string | undefined) =>
    iso !== undefined && Date.parse(iso) + graceMs < now.getTime();
  if (machine.instance_id && machine.instance_id !== instanceId) {
    return `the lease runs on ${machine.instance_id}; this is a second instance`;
  }
  switch (machine.status) {
    case 'terminated':
    case 'failed':
      return `the lease is ${machine.status}`;
    case 'terminating':
      return past(machine.termination_requested_at)
        ? 'termination was requested and did not happen'
        : undefined;
    case 'active':
      return past(machine.expires_at) ? `the lease ended at ${machine.expires_at}` : undefined;
    case 'provisioning':
      return past(machine.provision_deadline) ? 'provisioning did not finish in time' : undefined;
  }
}
