import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { cdkJsonContext, rateLimitsOf, readConfig } from '../../lib/config.js';
import { RECONCILE_GRACE_MINUTES } from '../../lib/lease-workflow.js';
import { documentClient } from '../adapters/dynamodb/document-client.js';
import { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import { liveLeasesByItem } from '../adapters/dynamodb/live-leases.js';
import { DynamoMachineStore } from '../adapters/dynamodb/machine-store.js';
import { DynamoOrderStore } from '../adapters/dynamodb/order-store.js';
import {
  ec2CapacityCheck,
  ON_DEMAND_VCPU_QUOTAS,
  type QuotaGroup,
} from '../adapters/ec2/ec2-capacity.js';
import { instanceTagLeaseDeadlines } from '../adapters/ec2/lease-deadline-tags.js';
import { MppxPaymentGateway, type StripeSettings } from '../adapters/payments/mppx-gateway.js';
import { paymentRefunds } from '../adapters/payments/refund-gateway.js';
import { dynamoReplayStore } from '../adapters/payments/replay-store.js';
import { OPERATION_HANDLERS } from '../api/operations.js';
import { loadOpenApiDocument, operationsOf } from '../contract/openapi-document.js';
import { CAPACITY_CACHE_MS, cachedCapacityCheck } from '../core/availability.js';
import { resolveCatalog } from '../core/catalog.js';
import { deriveKeys } from '../core/keys.js';
import type { Clock, Logger } from '../core/ports.js';
import type { ProductId } from '../core/products.js';
import { assertCatalogCoversCosts } from '../core/unit-economics.js';
import { DEFAULT_SETTINGS, type Storefront } from '../core/use-cases/storefront.js';
import type { ApiHandler } from '../http/api-handler.js';
import type { RateLimits } from '../http/rate-limit-rules.js';
import { lineLogger } from '../runtime/logger.js';
import { acceleratedClock } from './accelerated-clock.js';
import { startLocalDynamo } from './dynalite-server.js';
import type { FrontDoorOptions } from './front-door-emulation.js';
import { startLocalHttpServer } from './http-server.js';
import { keptClock } from './kept-clock.js';
import { LOCAL_SUBNETS, localFleet } from './local-fleet.js';
import { buildRoutes } from './openapi-router.js';
import { resumeLeases } from './resume-leases.js';
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
  allowUnpaidCreate?: boolean;
  catalogOverride?: unknown;
  /** Products that may be sold below cost + payment fee (otherwise the start is refused). */
  allowLossMakingProducts?: readonly ProductId[];
  /** Lease waits run this many times faster than real time (1 = real time). */
  clockSpeedup?: number;
  /** How long a simulated machine takes to boot, become ready and shut down (clock time). */
  ec2Timing?: { bootMs: number; readyMs: number; shutdownMs: number };
  /** Polling and retry intervals of the local state machine run. */
  workflowTiming?: { pollMs: number; retryMs: number };
  /**
   * What the simulated AWS account may launch: On-Demand vCPU quotas by group (`{"p": 0}` is
   * a fresh account with no GPU quota) and instance types offered in none of its zones.
   */
  ec2Limits?: SimulatedEc2Limits;
  /** Runs the reconciler this often (0: never on its own). */
  reconcileEveryMs?: number;
  /** Per-client budgets of the front door (default: cdk.json's); false: none (tests, bench). */
  rateLimits?: RateLimits | false;
  log?: Logger;
  clock?: Clock;
  /** The deployed response path (API Gateway, then the edge functions); on by default. */
  frontDoor?: FrontDoorOptions;
}

export interface SimulatedEc2Limits {
  vcpuQuotas?: Partial<Record<QuotaGroup, number>>;
  notOffered?: readonly string[];
}

/** Reads LOCAL_EC2_VCPU_QUOTAS (JSON, e.g. {"p":0}) and LOCAL_EC2_NOT_OFFERED (comma list). */
export function ec2LimitsFromEnvironment(env: NodeJS.ProcessEnv): SimulatedEc2Limits {
  let quotas: unknown;
  try {
    quotas = JSON.parse(env.LOCAL_EC2_VCPU_QUOTAS || '{}');
  } catch {
    quotas = undefined;
  }
  const groups = Object.keys(ON_DEMAND_VCPU_QUOTAS);
  if (
    typeof quotas !== 'object' ||
    quotas === null ||
    Object.entries(quotas).some(
      ([group, value]) => !groups.includes(group) || !Number.isInteger(value) || value < 0,
    )
  ) {
    throw new Error(
      `LOCAL_EC2_VCPU_QUOTAS must map quota groups (${groups.join(', ')}) to whole vCPU counts, e.g. {"p":0}`,
    );
  }
  const notOffered = (env.LOCAL_EC2_NOT_OFFERED ?? '')
    .split(',')
    .map((type) => type.trim())
    .filter(Boolean);
  return { vcpuQuotas: quotas as SimulatedEc2Limits['vcpuQuotas'], notOffered };
}

export interface RunningStorefront {
  url: string;
  rateLimits: RateLimits | false;
  fleet: ReturnType<typeof localFleet>;
  storefront: Storefront;
  dataDirectory?: string;
  dynamoEndpoint: string;
  close(): Promise<void>;
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
  const clock =
    options.clock ??
    (options.dataDirectory
      ? keptClock(options.dataDirectory, options.clockSpeedup ?? 1)
      : acceleratedClock(options.clockSpeedup ?? 1));
  const operations = handlersForContract();
  const catalog = resolveCatalog(options.catalogOverride ?? {});
  // Operator settings come from cdk.json, as for the deployed stack.
  const operator = readConfig(cdkJsonContext());
  assertCatalogCoversCosts(catalog, [
    ...operator.allowLossMakingProducts,
    ...(options.allowLossMakingProducts ?? []),
  ]);
  const dynamo = await startLocalDynamo({
    tableName: LOCAL_TABLE_NAME,
    ...(options.dataDirectory ? { dataDirectory: join(options.dataDirectory, 'dynamodb') } : {}),
  });
  const db = documentClient(dynamo.clientConfig);
  const keys = deriveKeys(localStorefrontSecret(options.dataDirectory));
  const host = options.host ?? '127.0.0.1';
  const machines = new DynamoMachineStore(db, LOCAL_TABLE_NAME);
  const refunds = paymentRefunds({
    clock,
    ...(options.stripe ? { stripeSecretKey: options.stripe.secretKey } : {}),
  });
  const orders = new DynamoOrderStore(db, LOCAL_TABLE_NAME);
  const lifecycle = new LeaseLifecycleStore(db, LOCAL_TABLE_NAME, operator.retentionDays);
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
    ...(options.dataDirectory
      ? { ec2JournalFile: join(options.dataDirectory, 'simulated-ec2.jsonl') }
      : {}),
  });
  // Leases live in the data of an earlier run go on (or, their machine lost, are refunded).
  await resumeLeases({
    ec2: fleet.ec2,
    workflow: fleet.workflow,
    liveLeases: () => liveLeasesByItem(db, LOCAL_TABLE_NAME),
    orders,
    machines,
    refunds,
    lifecycle,
    clock,
    log,
  });
  for (const [group, vcpus] of Object.entries(options.ec2Limits?.vcpuQuotas ?? {})) {
    fleet.ec2.vcpuQuotas.set(ON_DEMAND_VCPU_QUOTAS[group as QuotaGroup].code, vcpus);
  }
  for (const type of options.ec2Limits?.notOffered ?? []) fleet.ec2.notOffered.add(type);
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
  const rateLimits = options.rateLimits ?? rateLimitsOf(operator);
  const server = await startLocalHttpServer({
    host,
    port: options.port ?? 3000,
    routes: buildRoutes(operations),
    handlers,
    ...(options.frontDoor ? { frontDoor: options.frontDoor } : {}),
    rateLimits,
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
      ...(options.stripe ? { stripe: options.stripe } : {}),
    }),
    refunds,
    capacity: cachedCapacityCheck(
      ec2CapacityCheck({
        ec2: fleet.ec2,
        zones: LOCAL_SUBNETS.map((subnet) => subnet.availabilityZone),
        quotas: fleet.ec2.serviceQuota,
        clock,
      }),
      { ttlMs: CAPACITY_CACHE_MS, clock },
    ),
    deadlines: instanceTagLeaseDeadlines(fleet.ec2, log),
    clock,
    log,
  };
  for (const { operationId } of operations) {
    const create = OPERATION_HANDLERS[operationId];
    if (create) handlers[operationId] = create(storefront);
  }
  return {
    url: server.url,
    rateLimits,
    storefront,
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
