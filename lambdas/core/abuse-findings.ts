/**
 * Amazon GuardDuty findings about a lease's instance, as EventBridge delivers them. The event
 * is `{"source": "aws.guardduty", "detail-type": "GuardDuty Finding", "detail": <Finding>}`
 * (EventBridge events reference, "Amazon GuardDuty events"), and the detail is GuardDuty's
 * Finding object (GuardDuty API reference, "Finding"): `accountId`, `arn`, `createdAt`, `id`,
 * `region`, `resource` ("information about the AWS resource associated with the activity"),
 * `schemaVersion`, `severity` (a Double), `type` (1 to 50 characters), `updatedAt`, all
 * required, and optional `title`, `description`. For an EC2 finding, `resource.resourceType`
 * is `Instance` and `resource.instanceDetails` holds the `instanceId` and the instance's `tags`.
 * Only the fields read here are typed.
 */
export interface GuardDutyFindingEvent {
  source: string;
  'detail-type': string;
  detail: {
    id: string;
    type: string;
    severity: number;
    title?: string;
    accountId?: string;
    region?: string;
    resource?: {
      resourceType?: string;
      instanceDetails?: { instanceId?: string; tags?: { key?: string; value?: string }[] };
    };
    /** `resourceRole`: `TARGET` or, for instance findings, `ACTOR` (see judgeFinding). */
    service?: { resourceRole?: string };
  };
}

/** Which findings end a lease: type prefixes and the lowest severity (GuardDuty: 1.0–8.9). */
export interface FindingPolicy {
  typePrefixes: readonly string[];
  minSeverity: number;
}

/**
 * A finding type or the start of one. GuardDuty names types
 * `ThreatPurpose:ResourceTypeAffected/ThreatFamilyName.DetectionMechanism!Artifact` (GuardDuty
 * user guide, "GuardDuty finding format"; `Backdoor:EC2/C&CActivity.B!DNS`), at most 50
 * characters (API reference, "Finding": type). A prefix names at least the threat purpose.
 */
export const FINDING_TYPE_PREFIX = /^[A-Za-z]+:([A-Za-z0-9]+(\/[A-Za-z0-9.!&_-]*)?)?$/;
export const MAX_FINDING_TYPE_LENGTH = 50;
/**
 * The lowest severity acted on may be set from 1 to 10. A finding's severity is a Double
 * (API reference, "Finding"), "an assigned severity level and value" (GuardDuty user guide,
 * "Severity levels for GuardDuty findings"): low, medium, high and, since extended threat
 * detection, critical (API reference, "SeverityBreakdown"), 4 being where medium starts.
 */
export const FINDING_SEVERITY_RANGE = { min: 1, max: 10 } as const;

/** The list: mining, backdoors, trojans, port scans, unauthorised access; medium and up. */
export const DEFAULT_FINDING_POLICY: FindingPolicy = {
  typePrefixes: [
    'CryptoCurrency:EC2/',
    'Backdoor:EC2/',
    'Trojan:EC2/',
    'Recon:EC2/Portscan',
    'UnauthorizedAccess:EC2/',
  ],
  minSeverity: 4,
};

export type FindingVerdict =
  | { act: true; machineId: string; instanceId: string }
  | { act: false; why: string };

/** Whether the finding is about one of our leases, and one the policy acts on. */
export function judgeFinding(
  event: GuardDutyFindingEvent,
  policy: FindingPolicy,
  machineIdTag: string,
): FindingVerdict {
  if (event.source !== 'aws.guardduty' || event['detail-type'] !== 'GuardDuty Finding')
    return { act: false, why: 'not a GuardDuty finding' };
  const { detail } = event;
  if (!policy.typePrefixes.some((prefix) => detail.type.startsWith(prefix)))
    return { act: false, why: `type ${detail.type} is not acted on` };
  if (!(detail.severity >= policy.minSeverity))
    return { act: false, why: `severity ${detail.severity} is below ${policy.minSeverity}` };
  const instance = detail.resource?.instanceDetails;
  const machineId = instance?.tags?.find((tag) => tag.key === machineIdTag)?.value;
  if (detail.resource?.resourceType !== 'Instance' || !instance?.instanceId || !machineId)
    return { act: false, why: 'not about an instance of this storefront' };
  // "Resource role can be Target, meaning the resource was the target of suspicious activity.
  // For instance type findings, resource role can also be Actor, which means that your resource
  // was the actor carrying out suspicious activity" (GuardDuty user guide, "Finding details").
  // A lease brute-forced from outside is the victim: ending it and blocking its key would punish
  // the agent for someone else's attack. A finding without a role is judged by its type.
  if (detail.service?.resourceRole?.toUpperCase() === 'TARGET')
    return { act: false, why: 'the instance was the target of the activity, not its actor' };
  return { act: true, machineId, instanceId: instance.instanceId };
}

/** The reason recorded on the lease and the block: the finding's type, severity and id. */
export const findingReason = (detail: GuardDutyFindingEvent['detail']) =>
  `GuardDuty finding ${detail.type} (severity ${detail.severity}, id ${detail.id})`;
