import {
  type FindingPolicy,
  findingReason,
  type GuardDutyFindingEvent,
  judgeFinding,
} from '../abuse-findings.js';
import { sshKeyFingerprint } from '../blocks.js';
import type { BlockStore } from '../ports.js';
import { type EndForCauseDependencies, endLeaseForCause } from './end-lease-for-cause.js';

export type FindingOutcome =
  | { kind: 'ignored'; why: string }
  | {
      kind: 'acted';
      machine_id: string;
      /** What became of the lease: ended now, ended before, or not live any more. */
      lease: 'ended' | 'already_ended' | 'not_live' | 'not_found';
      blocked?: string;
    };

/**
 * A GuardDuty finding about a lease's instance, acted on without a person: the lease is ended
 * for cause through its workflow with its unused minutes refunded (never the time used), its
 * SSH key is blocked, and the finding is recorded (on the lease's end_cause and the block's
 * reason, and in the log). Idempotent: EventBridge may deliver the same finding again.
 */
export async function actOnFinding(
  deps: EndForCauseDependencies & { blocks: BlockStore },
  event: GuardDutyFindingEvent,
  policy: FindingPolicy,
  machineIdTag: string,
): Promise<FindingOutcome> {
  const verdict = judgeFinding(event, policy, machineIdTag);
  if (!verdict.act) {
    deps.log.info('finding.ignored', { finding_id: event.detail?.id, why: verdict.why });
    return { kind: 'ignored', why: verdict.why };
  }
  const reason = findingReason(event.detail);
  const lease = await deps.machines.get(verdict.machineId, new Date(0));
  // The tag names the lease; the instance must be that lease's own.
  if (lease?.instance_id && lease.instance_id !== verdict.instanceId) {
    const why = `instance ${verdict.instanceId} is not ${verdict.machineId}'s (${lease.instance_id})`;
    deps.log.warn('finding.ignored', { finding_id: event.detail.id, why });
    return { kind: 'ignored', why };
  }
  // The key is blocked only while this finding is about to end a live lease, and before it
  // does: a crash between the two leaves a block and a live lease, which the redelivery ends;
  // a finding delivered again (or updated by GuardDuty under the same id) once the lease has
  // ended blocks nothing, so an operator's unblock of a false positive stands.
  let blocked: string | undefined;
  if (lease && !lease.end_cause && (lease.status === 'provisioning' || lease.status === 'active')) {
    blocked = sshKeyFingerprint(lease.ssh_public_key);
    await deps.blocks.put({
      kind: 'ssh_key',
      value: blocked,
      reason: `${reason} on ${verdict.machineId}`,
      blocked_by: 'guardduty',
      blocked_at: deps.clock.now().toISOString(),
    });
  }
  const ended = await endLeaseForCause(deps, verdict.machineId, {
    reason,
    refund: 'unused',
    by: 'guardduty',
  });
  deps.log.warn('finding.acted', {
    finding_id: event.detail.id,
    finding_type: event.detail.type,
    severity: event.detail.severity,
    machine_id: verdict.machineId,
    instance_id: verdict.instanceId,
    lease: ended.kind,
    blocked_key: blocked,
  });
  return {
    kind: 'acted',
    machine_id: verdict.machineId,
    lease: ended.kind,
    ...(blocked ? { blocked } : {}),
  };
}
