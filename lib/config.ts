import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { minimumChargeCents } from '../lambdas/adapters/payments/accepted-methods.js';
import { contextFlag } from '../lambdas/adapters/payments/context-values.js';
import type { PaymentMethod } from '../lambdas/adapters/payments/payment-method.js';
import { PAYMENT_METHODS } from '../lambdas/adapters/payments/payment-methods.js';
import {
  FINDING_SEVERITY_RANGE,
  FINDING_TYPE_PREFIX,
  MAX_FINDING_TYPE_LENGTH,
} from '../lambdas/core/abuse-findings.js';
import { MAX_POLICY_BYTES } from '../lambdas/core/acceptable-use.js';
import { type CatalogOverride, resolveCatalog } from '../lambdas/core/catalog.js';
import { catalogBelowMinimum } from '../lambdas/core/payment-configuration.js';
import { type Catalog, PRODUCT_IDS } from '../lambdas/core/products.js';
import { assertCatalogCoversCosts } from '../lambdas/core/unit-economics.js';
import { MIN_RATE_LIMIT, type RateLimits } from '../lambdas/http/rate-limit-rules.js';

/**
 * Operator configuration, read from CDK context: every default is in cdk.json (the one
 * place to read them), overrides come with `-c storefront:<key>=<value>`. Values given on
 * the command line arrive as strings, so booleans, numbers and JSON are parsed here.
 * Unknown, missing or invalid keys fail the synth.
 */
export const CONTEXT_PREFIX = 'storefront:';

/** Each type is one `prefix` filter of the EventBridge rule's pattern, whose size is limited. */
const MAX_FINDING_TYPES = 20;

const bool = contextFlag;
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** A JSON value, given either as JSON (cdk.json) or as a JSON string (`-c key='{…}'`). */
const json = <T extends z.ZodType>(schema: T) =>
  z
    .unknown()
    .transform((value, context) => {
      if (typeof value !== 'string') return value;
      try {
        return JSON.parse(value) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: 'is not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

const storefrontKeys = {
  stageName: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'letters, digits, - and _ only'),
  products: json(z.record(z.string(), z.unknown())),
  /** Products the operator knowingly sells below cost + payment fee (otherwise synth fails). */
  allowLossMakingProducts: json(z.array(z.enum(PRODUCT_IDS))),
  allowUnpaidMachineCreate: bool,
  /** Terminating a lease early refunds its unused whole minutes (docs/money.md). */
  refundUnusedMinutes: bool,
  realm: z.string().min(1).optional(),
  domainName: z
    .string()
    .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/, 'a DNS name')
    .optional(),
  certificateArn: z.string().startsWith('arn:aws', 'an ACM certificate ARN (us-east-1)').optional(),
  throttleRateLimit: int(1, 10_000),
  throttleBurstLimit: int(1, 5_000),
  rateLimitWritesPerMinute: int(MIN_RATE_LIMIT, 2_000_000_000),
  rateLimitReadsPerMinute: int(MIN_RATE_LIMIT, 2_000_000_000),
  alarmEmail: z.email().optional(),
  provisioningTimeoutMinutes: int(2, 120),
  retentionDays: int(1, 365),
  vpcId: z
    .string()
    .regex(/^vpc-[0-9a-f]{8,17}$/, 'a VPC id')
    .optional(),
  reconcileEveryMinutes: int(1, 60),
  logRetentionDays: int(1, 3653),
  removalPolicy: z.enum(['retain', 'destroy']),
  /**
   * The acceptable-use policy served at /acceptable-use (Markdown), replacing the built-in
   * text (lambdas/core/acceptable-use.ts); it travels in one function's environment.
   */
  acceptableUsePolicy: z
    .string()
    .min(1)
    .refine((text) => Buffer.byteLength(text, 'utf8') <= MAX_POLICY_BYTES, {
      message: `must be at most ${MAX_POLICY_BYTES} bytes (it travels in a Lambda environment)`,
    })
    .optional(),
  /**
   * GuardDuty findings that end a lease (docs/abuse.md): type prefixes and the lowest
   * severity. They filter the EventBridge rule and the finding function judges again.
   */
  abuseFindings: json(
    z.strictObject({
      types: z
        .array(
          z
            .string()
            .max(MAX_FINDING_TYPE_LENGTH)
            .regex(
              FINDING_TYPE_PREFIX,
              'each type is a GuardDuty finding type or its start, e.g. "CryptoCurrency:EC2/"',
            ),
        )
        .min(1)
        .max(MAX_FINDING_TYPES),
      minSeverity: z.coerce
        .number()
        .min(FINDING_SEVERITY_RANGE.min)
        .max(FINDING_SEVERITY_RANGE.max),
    }),
  ),
  /** `create`: the stack enables GuardDuty here; `existing`: the account's own detector. */
  guardDutyDetector: z.enum(['create', 'existing']),
};

/** Each payment method's own keys (its module declares them), beside the storefront's. */
type MethodKeys = UnionToIntersection<(typeof PAYMENT_METHODS)[number]['context']>;
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (
  i: infer I,
) => void
  ? I
  : never;

function methodKeys(methods: readonly PaymentMethod[]): MethodKeys {
  const keys: Record<string, z.ZodType> = {};
  for (const method of methods) {
    for (const [key, schema] of Object.entries(method.context)) {
      if (key in storefrontKeys || key in keys)
        throw new Error(
          `payment method ${method.facts.name} declares ${CONTEXT_PREFIX}${key}, which is taken`,
        );
      keys[key] = schema as z.ZodType;
    }
  }
  return keys as MethodKeys;
}

const contextSchema = z.strictObject({ ...storefrontKeys, ...methodKeys(PAYMENT_METHODS) });

export type StorefrontConfig = Omit<z.output<typeof contextSchema>, 'products'> & {
  catalog: Catalog;
  productOverrides: CatalogOverride;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads every `storefront:` key of the context; anything else in the context is CDK's own. */
export function readConfig(context: Record<string, unknown>): StorefrontConfig {
  const values = Object.fromEntries(
    Object.entries(context)
      .filter(([key]) => key.startsWith(CONTEXT_PREFIX))
      .map(([key, value]) => [key.slice(CONTEXT_PREFIX.length), value]),
  );
  const missing = Object.entries(contextSchema.shape)
    .filter(([key, schema]) => !schema.safeParse(undefined).success && values[key] === undefined)
    .map(([key]) => `${CONTEXT_PREFIX}${key}`);
  if (missing.length) {
    throw new ConfigError(
      `invalid storefront configuration: missing context ${missing.join(', ')} (cdk.json holds the defaults)`,
    );
  }
  const parsed = contextSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where =
      issue?.code === 'unrecognized_keys' && issue.path.length === 0
        ? `unknown context key ${issue.keys.map((key) => `${CONTEXT_PREFIX}${key}`).join(', ')}`
        : `context ${CONTEXT_PREFIX}${issue?.path.join('.')}: ${issue?.message}`;
    throw new ConfigError(`invalid storefront configuration: ${where}`);
  }
  const { products, ...config } = parsed.data;
  let catalog: Catalog;
  try {
    catalog = resolveCatalog(products);
  } catch (error) {
    throw new ConfigError(
      `invalid storefront configuration: ${CONTEXT_PREFIX}products: ${(error as Error).message}`,
    );
  }
  try {
    assertCatalogCoversCosts(catalog, config.allowLossMakingProducts, {
      refundUnusedMinutes: config.refundUnusedMinutes,
    });
  } catch (error) {
    throw new ConfigError(
      `invalid storefront configuration: ${CONTEXT_PREFIX}products: ${(error as Error).message} (${CONTEXT_PREFIX}allowLossMakingProducts)`,
    );
  }
  checkPaymentMethods(config, catalog);
  if (Boolean(config.domainName) !== Boolean(config.certificateArn)) {
    throw new ConfigError(
      'invalid storefront configuration: storefront:domainName and storefront:certificateArn go together',
    );
  }
  return { ...config, catalog, productOverrides: products as CatalogOverride };
}

/** The operator's keys, which each method reads its own from. */
type OperatorKeys = Omit<StorefrontConfig, 'catalog' | 'productOverrides'>;

/**
 * The payment methods the operator turned on, in the order challenges offer them. (Each
 * method reads only its own keys, which the schema above holds: hence the casts.)
 */
export const paymentMethodsOn = (config: OperatorKeys): PaymentMethod[] =>
  PAYMENT_METHODS.filter((method) => method.isOn(config as never));

/**
 * Each method's own checks of its keys, then the checks across methods: the no-money
 * method never beside one that may move real money, and every price payable by some method.
 */
function checkPaymentMethods(config: OperatorKeys, catalog: Catalog) {
  for (const method of PAYMENT_METHODS) {
    const problem = method.misconfigured?.(config as never);
    if (problem) throw new ConfigError(`invalid storefront configuration: ${problem}`);
  }
  const on = paymentMethodsOn(config);
  // The secret's value is not known at synth: the operator's word decides (the runtime
  // checks the key itself).
  for (const free of on) {
    if (free.money.moves !== 'none') continue;
    for (const other of on) {
      const live = other.money.moves === 'real' ? other.money.liveAtSynth(config) : undefined;
      if (live)
        throw new ConfigError(
          `invalid storefront configuration: ${free.money.switchKey} cannot be on beside ${live}; a live key next to the no-money method would let any agent lease for free`,
        );
    }
  }
  const unpayable = catalogBelowMinimum(
    catalog,
    minimumChargeCents(on.map((method) => method.facts)),
  );
  if (unpayable.length && on.length) {
    throw new ConfigError(
      `invalid storefront configuration: ${CONTEXT_PREFIX}products: ${unpayable.join('; ')}`,
    );
  }
}

/** The per-client budgets the front door's WAF (and the local front door) enforce. */
export function rateLimitsOf(config: StorefrontConfig): RateLimits {
  return {
    writesPerMinute: config.rateLimitWritesPerMinute,
    readsPerMinute: config.rateLimitReadsPerMinute,
  };
}

/** The context cdk.json gives the app, for code that builds the stack outside the CDK CLI. */
export function cdkJsonContext(): Record<string, unknown> {
  const path = fileURLToPath(new URL('../cdk.json', import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { context: Record<string, unknown> }).context;
}
