import { randomUUID } from 'node:crypto';
import { INSTANCE_TAGS } from '../adapters/ec2/instance-tags.js';
import type { GuardDutyFindingEvent } from '../core/abuse-findings.js';

/**
 * A GuardDuty finding about one lease's instance, shaped as EventBridge delivers a real one
 * (lambdas/core/abuse-findings.ts quotes the documented fields), for the local storefront,
 * which has no GuardDuty. On AWS, GuardDuty's own sample findings (CreateSampleFindings)
 * carry no storefront tags, so they are ignored; this one names the lease by its tag.
 */
export function simulatedFinding(options: {
  machineId: string;
  instanceId: string;
  type?: string;
  severity?: number;
  /** The instance's part in the activity: `ACTOR` (it did it, the default) or `TARGET`. */
  resourceRole?: 'ACTOR' | 'TARGET';
  now: Date;
}): GuardDutyFindingEvent & Record<string, unknown> {
  const id = randomUUID().replaceAll('-', '');
  const at = options.now.toISOString();
  const type = options.type ?? 'CryptoCurrency:EC2/BitcoinTool.B!DNS';
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'GuardDuty Finding',
    source: 'aws.guardduty',
    account: '000000000000',
    time: at,
    region: 'local',
    resources: [],
    detail: {
      schemaVersion: '2.0',
      accountId: '000000000000',
      region: 'local',
      partition: 'aws',
      id,
      arn: `arn:aws:guardduty:local:000000000000:detector/local/finding/${id}`,
      type,
      resource: {
        resourceType: 'Instance',
        instanceDetails: {
          instanceId: options.instanceId,
          tags: [{ key: INSTANCE_TAGS.machineId, value: options.machineId }],
        },
      },
      service: {
        serviceName: 'guardduty',
        resourceRole: options.resourceRole ?? 'ACTOR',
        count: 1,
      },
      severity: options.severity ?? 8,
      createdAt: at,
      updatedAt: at,
      title: `Simulated ${type} on ${options.instanceId}`,
      description: 'A simulated finding sent by npm run operator -- finding (local storefront).',
    } as GuardDutyFindingEvent['detail'],
  };
}
