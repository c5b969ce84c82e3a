import * as z from 'zod';
import { acceptedMethodsSchema } from '../adapters/payments/accepted-methods.js';
import {
  type EnvironmentOf,
  flag,
  jsonText,
  parseEnvironment,
  wholeNumber,
} from './environment-values.js';

/**
 * The API functions' configuration, as the CDK stack sets it (lib/api-functions.ts types
 * the construct's environment against this schema). Secrets are not here: only the ARNs
 * of the Secrets Manager secrets that hold them. A payment method's own variables are not
 * here either: its module declares them, and only the functions that take payments parse them
 * (lambdas/adapters/payments/payment-methods-in-environment.ts).
 */
export const apiEnvironmentSchema = z.object({
  OPERATION_ID: z.string().min(1),
  TABLE_NAME: z.string().min(1),
  STOREFRONT_SECRET_ARN: z.string().min(1).optional(),
  /** The accepted payment methods' facts, in the order offered (accepted-methods.ts). */
  PAYMENT_METHODS: jsonText(acceptedMethodsSchema),
  ALLOW_UNPAID_MACHINE_CREATE: flag,
  /** Early termination refunds unused whole minutes (`storefront:refundUnusedMinutes`). */
  REFUND_UNUSED_MINUTES: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true'),
  PRODUCT_CATALOG: z.string().default('{}'),
  MPP_REALM: z.string().min(1),
  /**
   * The parameter holding the storefront's public URL (lib/public-url.ts), given to the
   * functions whose answers carry links (OPERATION_ACCESS `publicUrl`).
   */
  PUBLIC_URL_PARAMETER: z.string().min(1).optional(),
  STATE_MACHINE_ARN: z.string().min(1).optional(),
  PROVISIONING_TIMEOUT_MINUTES: wholeNumber(1, 120),
  RETENTION_DAYS: wholeNumber(1, 365),
  /**
   * The operator's acceptable-use policy (Markdown; cdk.json `storefront:acceptableUsePolicy`),
   * given only to the operation that serves it; absent: the built-in text.
   */
  ACCEPTABLE_USE_POLICY: z.string().min(1).optional(),
  /** The stack's name, as tagged on its instances. */
  MANAGED_BY: z.string().min(1).optional(),
});

export type LambdaEnvironment = z.output<typeof apiEnvironmentSchema>;
export type ApiFunctionEnvironment = EnvironmentOf<typeof apiEnvironmentSchema>;

export function readEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): LambdaEnvironment {
  return parseEnvironment(apiEnvironmentSchema, env, 'function');
}
