import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { cdkJsonContext, readConfig } from '../../lib/config.js';
import { RECONCILE_GRACE_MINUTES } from '../../lib/lease-workflow.js';
import { documentClient } from '../adapters/dynamodb/document-client.js';
import { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import { liveLeasesEndedBefore } from '../adapters/dynamodb/live-leases.js';
import { DynamoMachineStore } from '../adapters/dynamodb/machine-store.js';
import { DynamoOrderStore } from '../adapters/dynamodb/order-store.js';
import { MppxPaymentGateway, type StripeSettings } from '../adapters/payments/mppx-gateway.js';
import { paymentRefunds } from '../adapters/payments/refund-gateway.js';
import { dynamoReplayStore } from '../adapters/payments/replay-store.js';
import { OPERATION_HANDLERS } from '../api/operations.js';
import { loadOpenApiDocument, operationsOf } from '../contract/openapi-document.js';
import { resolveCatalog } from '../core/catalog.js';
import { deriveKeys } from '../core/keys.js';
import type { Clock, Logger } from '../core/ports.js';
import { DEFAULT_SETTINGS, type Storefront } from '../core/use-cases/storefront.js';
import { sweepPayments } from '../core/use-cases/sweep-payments.js';
import type { ApiHandler } from '../http/api-handler.js';
import { lineLogger } from '../runtime/logger.js';
import { acceleratedClock } from './accelerated-clock.js';
import { startLocalDynamo } from './dynalite-server.js';
import { startLocalHttpServer } from './http-server.js';
import { localFleet } from './local-fleet.js';
import { buildRoutes } from './openapi-router.js';
import { localStorefrontSecret } from './storefront-secret.js';

export const LOCAL_TABLE_NAME = 'storefront-local';

export interface LocalStorefrontOptions {
  host?: string;
  port?: number;
  /** Where data survives restarts; undefined keeps everything in memory. */
  dataDirectory?: string;
  testPayments?: boolean;
  /** Stripe settings, to exercise the Stripe method (against a stub) locally. */
  stripe?: StripeSettings;
  /** Where Stripe is reached (a stand-in in tests); the real API otherwise. */
  stripeFetch?: typeof fetch;
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
  /** Runs the payment sweeper this often (0: never on its own). */
  sweepEveryMs?: number;
  log?: Logger;
  clock?: Clock;
}

export interface RunningStorefront {
  url: string;
  fleet: ReturnType<typeof localFleet>;
  storefront: Storefront;
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

/**
 * The whole storefront in one process: local DynamoDB, the API handlers, and the lease
 * state machine run locally against a simulated EC2 fleet.
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
  const keys = deriveKeys(localStorefrontSecret(options.dataDirectory));
  const host = options.host ?? '127.0.0.1';
  const machines = new DynamoMachineStore(db, LOCAL_TABLE_NAME);
  const catalog = resolveCatalog(options.catalogOverride ?? {});
  const refunds = paymentRefunds({
    clock,
    ...(options.stripe ? { stripeSecretKey: options.stripe.secretKey } : {}),
    ...(options.stripeFetch ? { stripeFetch: options.stripeFetch } : {}),
  });
  const orders = new DynamoOrderStore(db, LOCAL_TABLE_NAME);
  // Operator settings come from cdk.json, as for the deployed stack.
  const operator = readConfig(cdkJsonContext());
  const lifecycle = new LeaseLifecycleStore(db, LOCAL_TABLE_NAME, operator.retentionDays);
  await endLeasesOfPreviousRun(db, lifecycle, clock, log);
  const fleet = localFleet({
    tableName: LOCAL_TABLE_NAME,
    orders,
    refunds,
    db,
    dynamoClientConfig: dynamo.clientConfig,
    catalog,
    machines,
    lifecycle,
    clock,
    log,
    ec2Timing: options.ec2Timing ?? { bootMs: 1500, readyMs: 1000, shutdownMs: 1000 },
    workflowTiming: {
      ...(options.workflowTiming ?? { pollMs: 1000, retryMs: 1000 }),
      clockSpeedup: options.clockSpeedup ?? 1,
    },
    reconcileGraceMinutes: RECONCILE_GRACE_MINUTES,
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
  const handlers: Record<string, ApiHandler> = {};
  const server = await startLocalHttpServer({
    host,
    port: options.port ?? 3000,
    routes: buildRoutes(operations),
    handlers,
    onRequest: ({ method, path, status, ms }) => log.info(`${method} ${path} ${status}`, { ms }),
  });
  const storefront: Storefront = {
    settings: {
      ...DEFAULT_SETTINGS,
      catalog,
      keys,
      allowUnpaidCreate: options.allowUnpaidCreate ?? false,
      provider: 'local-simulated-ec2',
      provisioningTimeoutMinutes: operator.provisioningTimeoutMinutes,
      retentionDays: operator.retentionDays,
    },
    orders,
    machines,
    leases: fleet.workflow,
    payments: new MppxPaymentGateway({
      secretKey: keys.mppSecretKey,
      realm: new URL(server.url).host,
      testPayments: options.testPayments ?? true,
      replayStore: dynamoReplayStore(db, LOCAL_TABLE_NAME),
      clock,
      catalog,
      ...(options.stripe ? { stripe: options.stripe } : {}),
      ...(options.stripeFetch ? { stripeFetch: options.stripeFetch } : {}),
    }),
    refunds,
    clock,
    log,
  };
  for (const { operationId } of operations) {
    const create = OPERATION_HANDLERS[operationId];
    if (create) handlers[operationId] = create(storefront);
  }
  // The same sweeper the stack runs on a schedule: every payment ends as a machine or a refund.
  // It also runs once at start: payments an earlier run left in between are finished first.
  const sweepEveryMs = options.sweepEveryMs ?? 30_000;
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweep = () => {
    sweeping = sweepPayments(storefront).catch((error: unknown) =>
      log.error('sweep.failed', { error: String(error) }),
    );
  };
  if (sweepEveryMs > 0) sweep();
  const sweeper = sweepEveryMs > 0 ? setInterval(sweep, sweepEveryMs).unref() : undefined;
  return {
    url: server.url,
    storefront,
    ...(options.dataDirectory ? { dataDirectory: options.dataDirectory } : {}),
    dynamoEndpoint: dynamo.endpoint,
    fleet,
    close: async () => {
      clearInterval(reconciler);
      clearInterval(sweeper);
      // A sweep in flight finishes before the table it writes to closes.
      await sweeping;
      await server.close();
      await fleet.close();
      db.destroy();
      await dynamo.close();
    },
  };
}
