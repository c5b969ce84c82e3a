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
  const ended = await endLeaseForCause(deps, verdict.machineId, {
    reason,
    refund: 'unused',
    by: 'guardduty',
  });
  const machine = ended.kind === 'not_found' ? undefined : ended.machine;
  let blocked: string | undefined;
  if (machine) {
    blocked = sshKeyFingerprint(machine.ssh_public_key);
    await deps.blocks.put({
      kind: 'ssh_key',
      value: blocked,
      reason: `${reason} on ${verdict.machineId}`,
      blocked_by: 'guardduty',
      blocked_at: deps.clock.now().toISOString(),
    });
  }
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
