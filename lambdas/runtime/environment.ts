import { z } from 'zod';

/**
 * The Lambda functions' configuration, as the CDK stack sets it. Secrets are not here:
 * only the ARNs of the Secrets Manager secrets that hold them.
 */
const flag = z
  .enum(['true', 'false'])
  .default('false')
  .transform((value) => value === 'true');

const environmentSchema = z.object({
  OPERATION_ID: z.string().min(1),
  TABLE_NAME: z.string().min(1),
  STOREFRONT_SECRET_ARN: z.string().min(1).optional(),
  STRIPE_SECRET_ARN: z.string().min(1).optional(),
  STRIPE_NETWORK_ID: z.string().min(1).optional(),
  STRIPE_PAYMENT_METHOD_TYPES: z.string().default('card,link'),
  TEST_PAYMENTS: z.enum(['enabled', 'disabled']).default('disabled'),
  ALLOW_UNPAID_MACHINE_CREATE: flag,
  PRODUCT_CATALOG: z.string().default('{}'),
  MPP_REALM: z.string().min(1),
  PUBLIC_BASE_URL: z.string().url().optional(),
  STATE_MACHINE_ARN: z.string().min(1).optional(),
  PROVISIONING_TIMEOUT_MINUTES: z.coerce.number().int().min(1).max(120),
  RETENTION_DAYS: z.coerce.number().int().min(1).max(365),
  /** Availability Zones of the machines' subnets (comma list), for the capacity check. */
  MACHINE_ZONES: z.string().min(1).optional(),
  /** The stack's name, as tagged on its instances. */
  MANAGED_BY: z.string().min(1).optional(),
});

export type LambdaEnvironment = z.infer<typeof environmentSchema>;

export function readEnvironment(env: NodeJS.ProcessEnv): LambdaEnvironment {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid function configuration: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return parsed.data;
}
