import { SFNClient } from '@aws-sdk/client-sfn';
import { documentClient } from '../adapters/dynamodb/document-client.js';
import { DynamoMachineStore } from '../adapters/dynamodb/machine-store.js';
import { DynamoOrderStore } from '../adapters/dynamodb/order-store.js';
import { MppxPaymentGateway, type StripeSettings } from '../adapters/payments/mppx-gateway.js';
import { offersOnlyGateway } from '../adapters/payments/offers-only-gateway.js';
import { noRefunds, paymentRefunds } from '../adapters/payments/refund-gateway.js';
import { dynamoReplayStore } from '../adapters/payments/replay-store.js';
import { readSecretString, secretsManager } from '../adapters/secrets/secrets-manager.js';
import { StepFunctionsLeaseWorkflow } from '../adapters/workflow/step-functions-lease-workflow.js';
import { parseCatalogJson } from '../core/catalog.js';
import { deriveKeys, type StorefrontKeys } from '../core/keys.js';
import type { LeaseWorkflow } from '../core/ports.js';
import { DEFAULT_SETTINGS, type Storefront } from '../core/use-cases/storefront.js';
import { type LambdaEnvironment, readEnvironment } from './environment.js';
import { jsonLogger } from './logger.js';
import {
  OPERATION_ACCESS,
  type OperationAccess,
  SWEEPER_ACCESS,
  SWEEPER_OPERATION_ID,
} from './operation-access.js';

/** Keys for a function that was given no access to the storefront secret: any use is a bug. */
const unavailableKeys = (operationId: string): StorefrontKeys =>
  new Proxy({} as StorefrontKeys, {
    get: (_target, key) => {
      throw new Error(
        `${operationId} has no access to the storefront secret (needed ${String(key)})`,
      );
    },
  });

const noWorkflow: LeaseWorkflow = {
  start: async () => {
    throw new Error('this function may not start lease workflows');
  },
  terminationRequested: async () => {
    throw new Error('this function may not signal lease workflows');
  },
};

function stripeSettings(
  env: LambdaEnvironment,
  secretKey: string | undefined,
): StripeSettings | undefined {
  if (!env.STRIPE_SECRET_ARN) return undefined;
  if (!secretKey || !env.STRIPE_NETWORK_ID) return undefined;
  return {
    secretKey,
    networkId: env.STRIPE_NETWORK_ID,
    paymentMethodTypes: env.STRIPE_PAYMENT_METHOD_TYPES.split(',').map((type) => type.trim()),
  };
}

async function loadSecrets(env: LambdaEnvironment, access: OperationAccess) {
  const client = secretsManager();
  try {
    const wants = (name: 'storefront' | 'stripe', arn: string | undefined) =>
      access.secrets.includes(name) && arn
        ? readSecretString(client, arn)
        : Promise.resolve(undefined);
    const [storefront, stripe] = await Promise.all([
      wants('storefront', env.STOREFRONT_SECRET_ARN),
      wants('stripe', env.STRIPE_SECRET_ARN),
    ]);
    return { storefront, stripe };
  } finally {
    client.destroy();
  }
}

/**
 * The storefront as one Lambda function sees it: configuration from the environment,
 * secrets from Secrets Manager (read once per container), and only the adapters this
 * operation is allowed to use.
 */
export async function awsStorefront(env: NodeJS.ProcessEnv = process.env): Promise<Storefront> {
  const config = readEnvironment(env);
  const access =
    config.OPERATION_ID === SWEEPER_OPERATION_ID
      ? SWEEPER_ACCESS
      : OPERATION_ACCESS[config.OPERATION_ID];
  if (!access) throw new Error(`unknown operation ${config.OPERATION_ID}`);
  const log = jsonLogger();
  const secrets = await loadSecrets(config, access);
  const keys = secrets.storefront
    ? deriveKeys(secrets.storefront)
    : unavailableKeys(config.OPERATION_ID);
  const db = documentClient();
  const clock = { now: () => new Date() };
  const testPayments = config.TEST_PAYMENTS === 'enabled';
  const catalog = parseCatalogJson(config.PRODUCT_CATALOG);
  const stripeConfigured = Boolean(config.STRIPE_SECRET_ARN && config.STRIPE_NETWORK_ID);
  // Only the operations that take payments hold payment keys; the others just describe the methods.
  const takesPayments = access.secrets.includes('stripe');
  const payments = takesPayments
    ? new MppxPaymentGateway({
        secretKey: keys.mppSecretKey,
        realm: config.MPP_REALM,
        testPayments,
        replayStore: dynamoReplayStore(db, config.TABLE_NAME),
        clock,
        catalog,
        ...(stripeConfigured ? { stripe: stripeSettings(config, secrets.stripe) } : {}),
      })
    : offersOnlyGateway({ stripe: stripeConfigured, testPayments });
  const leases =
    access.workflow && config.STATE_MACHINE_ARN
      ? new StepFunctionsLeaseWorkflow(new SFNClient({}), config.STATE_MACHINE_ARN, log)
      : noWorkflow;
  return {
    settings: {
      ...DEFAULT_SETTINGS,
      catalog,
      keys,
      allowUnpaidCreate: config.ALLOW_UNPAID_MACHINE_CREATE,
      provisioningTimeoutMinutes: config.PROVISIONING_TIMEOUT_MINUTES,
      retentionDays: config.RETENTION_DAYS,
      provider: 'aws-ec2',
      ...(config.PUBLIC_BASE_URL ? { publicBaseUrl: config.PUBLIC_BASE_URL } : {}),
    },
    orders: new DynamoOrderStore(db, config.TABLE_NAME),
    machines: new DynamoMachineStore(db, config.TABLE_NAME),
    leases,
    payments,
    refunds: takesPayments
      ? paymentRefunds({ clock, ...(secrets.stripe ? { stripeSecretKey: secrets.stripe } : {}) })
      : noRefunds,
    clock,
    log,
  };
}
