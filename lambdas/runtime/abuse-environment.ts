import * as z from 'zod';
import {
  FINDING_SEVERITY_RANGE,
  FINDING_TYPE_PREFIX,
  MAX_FINDING_TYPE_LENGTH,
} from '../core/abuse-findings.js';
import { type EnvironmentOf, jsonText } from './environment-values.js';

/**
 * The abuse functions' configuration, as the CDK stack sets it (lib/abuse-findings.ts and
 * lib/blocked-ranges-sync.ts type their environments against these schemas).
 */
export const findingEnvironmentSchema = z.object({
  TABLE_NAME: z.string().min(1),
  PRODUCT_CATALOG: z.string().default('{}'),
  /** The stack's name: the dimension of the function's metrics (and its alarm). */
  MANAGED_BY: z.string().min(1),
  /** Woken as DELETE wakes it: SendTaskSuccess with the lease's task token. */
  STATE_MACHINE_ARN: z.string().min(1),
  /** The deployment's public URL: the failure reason names the acceptable-use policy's URL. */
  PUBLIC_URL_PARAMETER: z.string().min(1),
  /** `storefront:abuseFindings.types`: the finding types (prefixes) acted on, as JSON. */
  FINDING_TYPE_PREFIXES: jsonText(
    z
      .array(z.string().max(MAX_FINDING_TYPE_LENGTH).regex(FINDING_TYPE_PREFIX, 'a finding type'))
      .min(1),
  ),
  /** `storefront:abuseFindings.minSeverity`. */
  FINDING_MIN_SEVERITY: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'a number')
    .transform(Number)
    .pipe(z.number().min(FINDING_SEVERITY_RANGE.min).max(FINDING_SEVERITY_RANGE.max)),
});

export const blockedRangesEnvironmentSchema = z.object({
  TABLE_NAME: z.string().min(1),
  /** The parameter holding the IP sets' ARNs (`{"ipv4": …, "ipv6": …}`), in IP_SETS_REGION. */
  BLOCKED_IP_SETS_PARAMETER: z.string().min(1),
  /** Where the front door's web ACL, its IP sets and that parameter live (us-east-1). */
  IP_SETS_REGION: z.string().min(1),
});

export type FindingFunctionEnvironment = EnvironmentOf<typeof findingEnvironmentSchema>;
export type BlockedRangesFunctionEnvironment = EnvironmentOf<typeof blockedRangesEnvironmentSchema>;
