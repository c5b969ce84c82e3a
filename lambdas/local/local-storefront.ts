import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { cdkJsonContext, readConfig } from '../../lib/config.js';
import { documentClient } from '../adapters/dynamodb/document-client.js';
import { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import { liveLeasesEndedBefore } from '../adapters/dynamodb/live-leases.js';
import type { StripeSettings } from '../adapters/payments/mppx-gateway.js';
import { OPERATION_HANDLERS } from '../api/operations.js';
import { loadOpenApiDocument, operationsOf } from '../contract/openapi-document.js';
import type { Clock, Logger } from '../core/ports.js';
import type { Storefront } from '../core/use-cases/storefront.js';
import type { ApiHandler } from '../http/api-handler.js';
import { lineLogger } from '../runtime/logger.js';
import { acceleratedClock } from './accelerated-clock.js';
import { startLocalDynamo } from './dynalite-server.js';
import { startLocalHttpServer } from './http-server.js';
import { localFleet } from './local-fleet.js';
import { localSecretsManager } from './local-secrets.js';
import { localStepFunctions } from './local-step-functions.js';
import { buildRoutes } from './openapi-router.js';
import { localStorefrontSecret } from './storefront-secret.js';
import { type SynthesizedStack, synthesizeLocalStack } from './synthesized-workflow.js';

export const LOCAL_TABLE_NAME = 'storefront-local';
/** The name the local stack gives the Stripe secret (its value is the options' secret key). */
const LOCAL_STRIPE_SECRET_NAME = 'local-stripe-secret';

export interface LocalStorefrontOptions {
  host?: string;
  port?: number;
  /** Where data survives restarts; undefined keeps everything in memory. */
  dataDirectory?: string;
  testPayments?: boolean;
  /** Stripe settings, to exercise the Stripe method (against a stub) locally. */
  stripe?: StripeSettings;
  allowUnpaidCreate?: boolean;
  catalogOverride?: unknown;
  /** Lease waits run this many times faster than real time (1 = real time). */
  clockSpeedup?: number;
  /** How long a simulated machine takes to boot, become ready and shut down (clock time). */
  ec2Timing?: { bootMs: number; readyMs: number; shutdownMs: number };
  /** Polling and retry intervals of the local state machine run. */
  workflowTiming?: { pollMs: number; retryMs: number };
  /** Runs the reconciler this often (0: never on its own). */
  reconcileEveryMs?: number;
  log?: Logger;
  clock?: Clock;
}

export interface RunningStorefront {
  url: string;
  fleet: ReturnType<typeof localFleet>;
  storefront: Storefront;
  /** What the local storefront runs: the synthesised stack's state machine and environments. */
  stack: SynthesizedStack;
  dataDirectory?: string;
  dynamoEndpoint: string;
  close(): Promise<void>;
}

/**
 * The simulated machines and their workflow runs live in memory, so leases still live in
 * the data of an earlier run have nothing behind them any more: they end now, visibly.
 */
async function endLeasesOfPreviousRun(
  db: DynamoDBDocumentClient,
  lifecycle: LeaseLifecycleStore,
  clock: Clock,
  log: Logger,
) {
  const now = clock.now();
  for (const lease of await liveLeasesEndedBefore(db, LOCAL_TABLE_NAME, new Date('9999-01-01'))) {
    const ended =
      lease.status === 'provisioning'
        ? await lifecycle.markFailed(
            lease.machine_id,
            'the local storefront restarted before the machine was ready',
            now,
          )
        : await lifecycle.markTerminated(lease.machine_id, now);
    if (ended)
      log.info('lease.ended_by_restart', { machine_id: lease.machine_id, status: ended.status });
  }
}

/** Checks that every operation of the contract has exactly one handler, and vice versa. */
export function handlersForContract() {
  const operations = operationsOf(loadOpenApiDocument());
  const documented = new Set(operations.map((operation) => operation.operationId));
  const missing = [...documented].filter((id) => !(id in OPERATION_HANDLERS));
  const extra = Object.keys(OPERATION_HANDLERS).filter((id) => !documented.has(id));
  if (missing.length || extra.length) {
    throw new Error(
      `openapi.json and the handlers disagree: no handler for [${missing.join(', ')}], no operation for [${extra.join(', ')}]`,
    );
  }
  return operations;
}

/** The operator context the local options stand for, as `-c storefront:<key>=…` would set it. */
function localContext(options: LocalStorefrontOptions, realm: string): Record<string, unknown> {
  return {
    'storefront:realm': realm,
    'storefront:testPayments': options.testPayments ?? true,
    ...(options.allowUnpaidCreate !== undefined
      ? { 'storefront:allowUnpaidMachineCreate': options.allowUnpaidCreate }
      : {}),
    ...(options.catalogOverride !== undefined
      ? { 'storefront:products': options.catalogOverride }
      : {}),
    ...(options.stripe
      ? {
          'storefront:stripeSecretName': LOCAL_STRIPE_SECRET_NAME,
          'storefront:stripeNetworkId': options.stripe.networkId,
          'storefront:stripePaymentMethodTypes': options.stripe.paymentMethodTypes,
        }
      : {}),
  };
}

/** The secrets the template's ARNs point at, served by the local Secrets Manager. */
function localSecrets(
  stack: SynthesizedStack,
  storefrontSecret: string,
  stripeSecretKey: string | undefined,
): Map<string, string> {
  const secrets = new Map<string, string>();
  for (const env of [
    ...Object.values(stack.environments.api),
    ...Object.values(stack.environments.workflow),
  ]) {
    if (env.STOREFRONT_SECRET_ARN) secrets.set(env.STOREFRONT_SECRET_ARN, storefrontSecret);
    if (env.STRIPE_SECRET_ARN && stripeSecretKey)
      secrets.set(env.STRIPE_SECRET_ARN, stripeSecretKey);
  }
  return secrets;
}

/**
 * The whole storefront in one process: local DynamoDB, and every function of the stack (API
 * and workflow) run through its own Lambda entry with the environment the synthesised
 * template gives it, its AWS endpoints local: dynalite, the state machine run locally, a
 * simulated EC2, the local secrets.
 */
export async function startLocalStorefront(
  options: LocalStorefrontOptions = {},
): Promise<RunningStorefront> {
  const log = options.log ?? lineLogger();
  const clock = options.clock ?? acceleratedClock(options.clockSpeedup ?? 1);
  const operations = handlersForContract();
  const dynamo = await startLocalDynamo({
    tableName: LOCAL_TABLE_NAME,
    ...(options.dataDirectory ? { dataDirectory: join(options.dataDirectory, 'dynamodb') } : {}),
  });
  const db = documentClient(dynamo.clientConfig);
  // Operator settings come from cdk.json, as for the deployed stack.
  const operator = readConfig(cdkJsonContext());
  const lifecycle = new LeaseLifecycleStore(db, LOCAL_TABLE_NAME, operator.retentionDays);
  await endLeasesOfPreviousRun(db, lifecycle, clock, log);
  const handlers: Record<string, ApiHandler> = {};
  const server = await startLocalHttpServer({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 3000,
    routes: buildRoutes(operations),
    handlers,
    onRequest: ({ method, path, status, ms }) => log.info(`${method} ${path} ${status}`, { ms }),
  });
  const stack = synthesizeLocalStack(
    LOCAL_TABLE_NAME,
    localContext(options, new URL(server.url).host),
  );
  const clients = {
    dynamodb: dynamo.clientConfig,
    secretsManager: localSecretsManager(
      localSecrets(stack, localStorefrontSecret(options.dataDirectory), options.stripe?.secretKey),
    ),
    clock,
    log,
    provider: 'local-simulated-ec2',
  };
  const fleet = localFleet({
    stack,
    clients,
    ec2Timing: options.ec2Timing ?? { bootMs: 1500, readyMs: 1000, shutdownMs: 1000 },
    workflowTiming: {
      ...(options.workflowTiming ?? { pollMs: 1000, retryMs: 1000 }),
      clockSpeedup: options.clockSpeedup ?? 1,
    },
  });
  const reconcileEveryMs = options.reconcileEveryMs ?? 60_000;
  const reconciler =
    reconcileEveryMs > 0
      ? setInterval(() => {
          fleet
            .reconcile()
            .catch((error: unknown) => log.error('reconcile.failed', { error: String(error) }));
        }, reconcileEveryMs).unref()
      : undefined;
  const apiClients = {
    ...clients,
    stepFunctions: localStepFunctions(() => fleet.workflow, stack.stateMachineArn),
  };
  const functions = Object.fromEntries(
    operations.map(({ operationId }) => {
      const env = stack.environments.api[operationId];
      const entry = OPERATION_HANDLERS[operationId];
      if (!env || !entry) throw new Error(`the stack deploys no function for ${operationId}`);
      return [operationId, entry.with({ env, clients: apiClients })];
    }),
  );
  Object.assign(handlers, functions);
  // The fullest view of the storefront (every port) is the one the paid order runs with.
  const storefront = await functions.createOrder?.storefront();
  if (!storefront) throw new Error('the stack deploys no createOrder function');
  return {
    url: server.url,
    storefront,
    stack,
    ...(options.dataDirectory ? { dataDirectory: options.dataDirectory } : {}),
    dynamoEndpoint: dynamo.endpoint,
    fleet,
    close: async () => {
      clearInterval(reconciler);
      await server.close();
      await fleet.close();
      db.destroy();
      await dynamo.close();
    },
  };
}
