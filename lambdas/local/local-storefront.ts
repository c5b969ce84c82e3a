import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { cdkJsonContext, rateLimitsOf, readConfig } from '../../lib/config.js';
import { retryConfig } from '../adapters/aws-retry.js';
import { documentClient } from '../adapters/dynamodb/document-client.js';
import { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import { liveLeasesByItem } from '../adapters/dynamodb/live-leases.js';
import { DynamoMachineStore } from '../adapters/dynamodb/machine-store.js';
import { ON_DEMAND_VCPU_QUOTAS, type QuotaGroup } from '../adapters/ec2/ec2-capacity.js';
import { OPERATION_HANDLERS } from '../api/operations.js';
import { loadOpenApiDocument, operationsOf } from '../contract/openapi-document.js';
import { resolveCatalog } from '../core/catalog.js';
import type { Clock, Logger } from '../core/ports.js';
import type { ProductId } from '../core/products.js';
import { assertCatalogCoversCosts } from '../core/unit-economics.js';
import type { Storefront } from '../core/use-cases/storefront.js';
import type { ApiHandler } from '../http/api-handler.js';
import type { RateLimits } from '../http/rate-limit-rules.js';
import { lineLogger } from '../runtime/logger.js';
import { handler as sweepPayments } from '../sweeper/sweep-payments.js';
import { acceleratedClock } from './accelerated-clock.js';
import type { SimulatedAwsLimits, ThrottleCounts } from './aws-limits/documented-limits.js';
import {
  type HotPartitionProxy,
  startHotPartitionProxy,
} from './aws-limits/hot-partition-proxy.js';
import { limitedStepFunctions } from './aws-limits/limited-step-functions.js';
import { sdkClientOver } from './aws-limits/sdk-client-over.js';
import { type RequestCounts, signedAs, startLocalDynamo } from './dynalite-server.js';
import type { FrontDoorOptions } from './front-door-emulation.js';
import { type LocalHttpOptions, startLocalHttpServer } from './http-server.js';
import { keptClock } from './kept-clock.js';
import { localFleet } from './local-fleet.js';
import { localParameterStore } from './local-parameters.js';
import {
  localPaymentDefaults,
  localPaymentSecrets,
  prefixedPaymentContext,
} from './local-payment-methods.js';
import { localSecretsManager } from './local-secrets.js';
import { localStepFunctions } from './local-step-functions.js';
import { buildRoutes } from './openapi-router.js';
import { resumeLeases } from './resume-leases.js';
import { startStepFunctionsEndpoint } from './step-functions-endpoint.js';
import { localStorefrontSecret } from './storefront-secret.js';
import type { SynthesizedStack } from './synthesized-workflow.js';

export const LOCAL_TABLE_NAME = 'storefront-local';

/** Written to the data directory on start: `npm run operator -- --local …` reads it. */
export const LOCAL_ENDPOINTS_FILE = 'endpoints.json';
export interface LocalEndpoints {
  dynamodb: string;
  stepFunctions: string;
  tableName: string;
  publicUrl: string;
}

export interface LocalStorefrontOptions {
  host?: string;
  port?: number;
  /**
   * The storefront's public URL, as a deployment's custom domain would be: what machines call
   * back and every link starts with. Default: the server's own address.
   */
  publicUrl?: string;
  /** Where data survives restarts; undefined keeps everything in memory. */
  dataDirectory?: string;
  /**
   * The payment methods' keys (without `storefront:`), as `-c` would set them, over each
   * method's local defaults (the test method is on): e.g. `{ testPayments: false,
   * stripeSecretName: 'local-stripe', stripeNetworkId: 'profile_…', stripeTestMode: true }`.
   */
  paymentContext?: Record<string, unknown>;
  /** The values of the secrets those keys name, by secret name (e.g. `{ 'local-stripe': 'sk_test_…' }`). */
  paymentSecrets?: Record<string, string>;
  /** Where payment providers' APIs are reached (a stand-in in tests); the real ones otherwise. */
  paymentFetch?: typeof fetch;
  allowUnpaidCreate?: boolean;
  /** The operator's acceptable-use text, as `-c storefront:acceptableUsePolicy=…` sets it. */
  acceptableUsePolicy?: string;
  catalogOverride?: unknown;
  /** Products that may be sold below cost + payment fee (otherwise the start is refused). */
  allowLossMakingProducts?: readonly ProductId[];
  /** Lease waits run this many times faster than real time (1 = real time). */
  clockSpeedup?: number;
  /** How long a simulated machine takes to boot, become ready and shut down (clock time). */
  ec2Timing?: { bootMs: number; readyMs: number; shutdownMs: number };
  /**
   * Polling and retry intervals of the local state machine run, and (optionally) how long the
   * launch waits for a ready callback before polling, in real milliseconds.
   */
  workflowTiming?: { pollMs: number; retryMs: number; readyWaitMs?: number };
  /**
   * What the simulated AWS account may launch: On-Demand vCPU quotas by group (`{"p": 0}` is
   * a fresh account with no GPU quota) and instance types offered in none of its zones.
   */
  ec2Limits?: SimulatedEc2Limits;
  /** Public addresses for simulated machines (default: the 762 of the documentation ranges). */
  ec2Addresses?: readonly string[];
  /** Runs the reconciler this often (0: never on its own). */
  reconcileEveryMs?: number;
  /**
   * Runs the capacity watcher this often (0: never on its own; it always runs once at start).
   * Default: once a clock minute, as on AWS, but at least every 250 ms of real time.
   */
  watchCapacityEveryMs?: number;
  /** Runs the payment sweeper this often (0: never on its own). */
  sweepEveryMs?: number;
  log?: Logger;
  clock?: Clock;
  /** The deployed response path (API Gateway, then the edge functions); on by default. */
  frontDoor?: FrontDoorOptions;
  /** Each request the front door answered, after it is logged (bench: what one lease costs). */
  onRequest?: LocalHttpOptions['onRequest'];
  /** Per-client budgets as the front door's WAF enforces them (default: cdk.json's); false: none. */
  rateLimits?: RateLimits | false;
  /**
   * AWS's own limits, simulated in the local clients (off by default): EC2 request buckets and
   * InsufficientInstanceCapacity, StartExecution throttling, DynamoDB's per-partition
   * throughput. `documentedLimits()` gives AWS's documented numbers.
   */
  awsLimits?: SimulatedAwsLimits;
  /**
   * Builds the stack the storefront runs from the operator context (default: synthesises it
   * now). Tests pass one that synthesises each configuration once per run: building the CDK
   * app, and loading the CDK to do it, is most of a local start.
   */
  synthesizeStack?: (
    tableName: string,
    context: Record<string, unknown>,
  ) => SynthesizedStack | Promise<SynthesizedStack>;
}

/** What the simulated AWS limits did during a run. */
export interface AwsLimitsReport {
  /** Calls refused, by service, code and action or partition. */
  refused(): ThrottleCounts;
  /** The busiest second of the busiest DynamoDB partitions (table and index). */
  dynamoPeaks(): ReturnType<HotPartitionProxy['peaks']>;
  /** When EC2 first accepted each instance's termination (ms on the storefront's clock). */
  terminationAcceptedAt: ReadonlyMap<string, number>;
}

/** Loads the CDK only when the stack is built here. */
async function synthesizeNow(tableName: string, context: Record<string, unknown>) {
  const { synthesizeLocalStack } = await import('./synthesized-workflow.js');
  return synthesizeLocalStack(tableName, context);
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
  /** The front door: what agents call. */
  url: string;
  /** Where API Gateway's execute-api URL would be (frontDoor.executeApiEntrance): refused. */
  executeApiUrl?: string;
  fleet: ReturnType<typeof localFleet>;
  storefront: Storefront;
  /** The storefront one function composed (tests inject faults into a function's own ports). */
  storefrontOf(operationId: string): Promise<Storefront>;
  /** What the local storefront runs: the synthesised stack's state machine and environments. */
  stack: SynthesizedStack;
  /** The per-client limits the local front door enforces (false: none). */
  rateLimits: RateLimits | false;
  dataDirectory?: string;
  /** The local DynamoDB itself (not behind the simulated partition limits). */
  dynamoEndpoint: string;
  /** Where another process (the operator command) reaches this storefront. */
  endpoints: LocalEndpoints;
  /** Present when `awsLimits` was given. */
  awsLimits?: AwsLimitsReport;
  /** DynamoDB requests so far, by the function that signed them (its operationId or step) and operation. */
  dynamoRequests(): Promise<RequestCounts>;
  /** Parameter Store and Secrets Manager calls the functions made so far (one warm process). */
  serviceCalls(): { ssmGetParameter: number; secretsManagerGetSecretValue: number };
  /** DynamoDB capacity units from now on, counted by the local DynamoDB (LocalDynamo.capacity). */
  meterDynamoCapacity(): void;
  /** Capacity units consumed since meterDynamoCapacity, keyed like dynamoRequests. */
  dynamoCapacity(): Promise<RequestCounts>;
  close(): Promise<void>;
}

const prefixed = (service: string, counts: ThrottleCounts = {}): ThrottleCounts =>
  Object.fromEntries(Object.entries(counts).map(([key, count]) => [`${service} ${key}`, count]));

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
    ...localPaymentDefaults(),
    ...prefixedPaymentContext(options.paymentContext ?? {}),
    ...(options.allowUnpaidCreate !== undefined
      ? { 'storefront:allowUnpaidMachineCreate': options.allowUnpaidCreate }
      : {}),
    ...(options.acceptableUsePolicy !== undefined
      ? { 'storefront:acceptableUsePolicy': options.acceptableUsePolicy }
      : {}),
    ...(options.catalogOverride !== undefined
      ? { 'storefront:products': options.catalogOverride }
      : {}),
    ...(options.allowLossMakingProducts?.length
      ? { 'storefront:allowLossMakingProducts': [...options.allowLossMakingProducts] }
      : {}),
  };
}

/** The secrets the template's ARNs point at, served by the local Secrets Manager. */
function localSecrets(
  stack: SynthesizedStack,
  storefrontSecret: string,
  context: Record<string, unknown>,
  paymentSecrets: Record<string, string>,
): Map<string, string> {
  const environments = [
    ...Object.values(stack.environments.api),
    ...Object.values(stack.environments.workflow),
  ];
  const secrets = localPaymentSecrets(environments, context, paymentSecrets);
  for (const env of environments) {
    if (env.STOREFRONT_SECRET_ARN) secrets.set(env.STOREFRONT_SECRET_ARN, storefrontSecret);
  }
  return secrets;
}

/**
 * The parameters the template's functions read: the public URL is the server's own address,
 * as on AWS it is the front door's (never what a request's Host header says).
 */
function localParameters(stack: SynthesizedStack, publicUrl: string): Map<string, string> {
  const parameters = new Map<string, string>();
  for (const env of [
    ...Object.values(stack.environments.api),
    ...Object.values(stack.environments.workflow),
  ]) {
    if (env.PUBLIC_URL_PARAMETER) parameters.set(env.PUBLIC_URL_PARAMETER, publicUrl);
  }
  return parameters;
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
  const clock =
    options.clock ??
    (options.dataDirectory
      ? keptClock(options.dataDirectory, options.clockSpeedup ?? 1)
      : acceleratedClock(options.clockSpeedup ?? 1));
  const operations = handlersForContract();
  // Operator settings come from cdk.json, as for the deployed stack.
  const operator = readConfig(cdkJsonContext());
  // Refused before anything starts, naming the product and duration, as `cdk synth` refuses it.
  assertCatalogCoversCosts(
    resolveCatalog(options.catalogOverride ?? {}),
    [...operator.allowLossMakingProducts, ...(options.allowLossMakingProducts ?? [])],
    { refundUnusedMinutes: operator.refundUnusedMinutes },
  );
  // DynamoDB starts on a thread of its own while the server starts and the stack is built:
  // neither needs the table.
  const dynamoStarting = startLocalDynamo({
    tableName: LOCAL_TABLE_NAME,
    ...(options.dataDirectory ? { dataDirectory: join(options.dataDirectory, 'dynamodb') } : {}),
  });
  // Its failure is thrown where it is awaited, below.
  dynamoStarting.catch(() => {});
  const handlers: Record<string, ApiHandler> = {};
  const rateLimits = options.rateLimits ?? rateLimitsOf(operator);
  let server: Awaited<ReturnType<typeof startLocalHttpServer>> | undefined;
  let stack: SynthesizedStack;
  let context: Record<string, unknown>;
  let dynamo: Awaited<typeof dynamoStarting>;
  try {
    server = await startLocalHttpServer({
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 3000,
      routes: buildRoutes(operations),
      handlers,
      ...(options.frontDoor ? { frontDoor: options.frontDoor } : {}),
      rateLimits,
      clock,
      onRequest: (line) => {
        log.info(`${line.method} ${line.path} ${line.status}`, { ms: line.ms });
        options.onRequest?.(line);
      },
    });
    context = localContext(options, new URL(server.url).host);
    stack = await (options.synthesizeStack ?? synthesizeNow)(LOCAL_TABLE_NAME, context);
    dynamo = await dynamoStarting;
  } catch (error) {
    // Nothing of a start that failed is left running.
    await server?.close();
    await dynamoStarting.then((started) => started.close()).catch(() => {});
    throw error;
  }
  // With partition limits on, every function reaches DynamoDB through the limiting proxy.
  const partitionProxy = options.awsLimits?.dynamodb
    ? await startHotPartitionProxy(dynamo.endpoint, options.awsLimits.dynamodb)
    : undefined;
  // The proxy is an HTTP server: those clients go over a socket, not dynalite's message channel.
  const { requestHandler: _overTheChannel, ...overHttp } = dynamo.clientConfig;
  const dynamoConfig = partitionProxy
    ? {
        ...overHttp,
        endpoint: partitionProxy.endpoint,
        ...(options.awsLimits?.sdkMaxAttempts
          ? { maxAttempts: options.awsLimits.sdkMaxAttempts }
          : {}),
      }
    : dynamo.clientConfig;
  const db = documentClient(signedAs(dynamoConfig, 'local-storefront'));
  const secretsManager = localSecretsManager(
    localSecrets(
      stack,
      localStorefrontSecret(options.dataDirectory),
      context,
      options.paymentSecrets ?? {},
    ),
  );
  const ssm = localParameterStore(localParameters(stack, options.publicUrl ?? server.url));
  const clients = {
    dynamodb: dynamoConfig,
    secretsManager,
    ssm,
    clock,
    log,
    provider: 'local-simulated-ec2',
    ...(options.paymentFetch ? { paymentFetch: options.paymentFetch } : {}),
  };
  const fleet = localFleet({
    stack,
    clients,
    ec2Timing: options.ec2Timing ?? { bootMs: 1500, readyMs: 1000, shutdownMs: 1000 },
    workflowTiming: {
      ...(options.workflowTiming ?? { pollMs: 1000, retryMs: 1000 }),
      clockSpeedup: options.clockSpeedup ?? 1,
    },
    ...(options.dataDirectory
      ? { ec2JournalFile: join(options.dataDirectory, 'simulated-ec2.jsonl') }
      : {}),
    ...(options.awsLimits?.ec2 ? { ec2Limits: options.awsLimits.ec2 } : {}),
    ...(options.awsLimits?.sdkMaxAttempts
      ? { sdkMaxAttempts: options.awsLimits.sdkMaxAttempts }
      : {}),
    ...(options.ec2Addresses ? { ec2Addresses: options.ec2Addresses } : {}),
  });
  for (const [group, vcpus] of Object.entries(options.ec2Limits?.vcpuQuotas ?? {})) {
    fleet.ec2.vcpuQuotas.set(ON_DEMAND_VCPU_QUOTAS[group as QuotaGroup].code, vcpus);
  }
  for (const type of options.ec2Limits?.notOffered ?? []) fleet.ec2.notOffered.add(type);
  // Leases live in the data of an earlier run go on (or, their machine lost, are refunded).
  await resumeLeases({
    ec2: fleet.ec2,
    workflow: fleet.workflow,
    liveLeases: () => liveLeasesByItem(db, LOCAL_TABLE_NAME),
    machines: new DynamoMachineStore(db, LOCAL_TABLE_NAME),
    refund: fleet.refundLease,
    lifecycle: new LeaseLifecycleStore(db, LOCAL_TABLE_NAME, operator.retentionDays),
    clock,
    log,
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
  // The functions that sell read the watcher's snapshots: the first is written before the
  // server answers anything, so the configured limits are already known to a first order.
  // A failed run stops nothing: without a snapshot the sale goes on unchecked, as on AWS.
  const watchCapacityNow = () =>
    fleet
      .watchCapacity()
      .catch((error: unknown) => log.error('capacity.watch_failed', { error: String(error) }));
  await watchCapacityNow();
  const watchCapacityEveryMs =
    options.watchCapacityEveryMs ?? Math.max(250, 60_000 / (options.clockSpeedup ?? 1));
  let watching: Promise<unknown> = Promise.resolve();
  const capacityWatcher =
    watchCapacityEveryMs > 0
      ? setInterval(() => {
          watching = watchCapacityNow();
        }, watchCapacityEveryMs).unref()
      : undefined;
  const localSfn = localStepFunctions(() => fleet.workflow, stack.stateMachineArn);
  // The operator command (bin/operator.ts) reaches this storefront's table and workflows here.
  const sfnEndpoint = await startStepFunctionsEndpoint(localSfn, options.host ?? '127.0.0.1');
  const endpoints: LocalEndpoints = {
    dynamodb: dynamo.endpoint,
    stepFunctions: sfnEndpoint.endpoint,
    tableName: LOCAL_TABLE_NAME,
    publicUrl: server.url,
  };
  if (options.dataDirectory) {
    mkdirSync(options.dataDirectory, { recursive: true });
    writeFileSync(
      join(options.dataDirectory, LOCAL_ENDPOINTS_FILE),
      `${JSON.stringify(endpoints)}\n`,
    );
  }
  const startLimit = options.awsLimits?.stepFunctions?.startExecution;
  const limitedSfn = startLimit ? limitedStepFunctions(localSfn, startLimit) : undefined;
  const apiClients = {
    ...clients,
    // With StartExecution limited, the functions reach it through a real SFN client (its retries).
    stepFunctions: limitedSfn
      ? sdkClientOver(
          new SFNClient({
            region: 'local',
            endpoint: 'http://local-step-functions.local',
            credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
            ...retryConfig('stepFunctions'),
            ...(options.awsLimits?.sdkMaxAttempts
              ? { maxAttempts: options.awsLimits.sdkMaxAttempts }
              : {}),
          }),
          limitedSfn,
          [StartExecutionCommand, SendTaskSuccessCommand],
        )
      : localSfn,
    ec2: fleet.ec2Client,
  };
  const functions = Object.fromEntries(
    operations.map(({ operationId }) => {
      const env = stack.environments.api[operationId];
      const entry = OPERATION_HANDLERS[operationId];
      if (!env || !entry) throw new Error(`the stack deploys no function for ${operationId}`);
      const clients = { ...apiClients, dynamodb: signedAs(dynamoConfig, operationId) };
      return [operationId, entry.with({ env, clients })];
    }),
  );
  Object.assign(handlers, functions);
  // The same sweeper the stack runs on a schedule, through its own entry and template
  // environment: every payment ends as a machine, an extension or a refund. It also runs once
  // at start: payments an earlier run left in between are finished first.
  const sweepNow = sweepPayments.with({
    env: stack.environments.sweeper,
    clients: { ...apiClients, dynamodb: signedAs(dynamoConfig, 'sweeper') },
  });
  const sweepEveryMs = options.sweepEveryMs ?? 30_000;
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweep = () => {
    sweeping = sweepNow().catch((error: unknown) =>
      log.error('sweep.failed', { error: String(error) }),
    );
  };
  if (sweepEveryMs > 0) sweep();
  const sweeper = sweepEveryMs > 0 ? setInterval(sweep, sweepEveryMs).unref() : undefined;
  // The fullest view of the storefront (every port) is the one the paid order runs with.
  const storefront = await functions.createOrder?.storefront();
  if (!storefront) throw new Error('the stack deploys no createOrder function');
  return {
    url: server.url,
    ...(server.executeApiUrl ? { executeApiUrl: server.executeApiUrl } : {}),
    storefront,
    storefrontOf: async (operationId) => {
      const fn = functions[operationId];
      if (!fn) throw new Error(`no function for ${operationId}`);
      return fn.storefront();
    },
    stack,
    rateLimits,
    ...(options.dataDirectory ? { dataDirectory: options.dataDirectory } : {}),
    dynamoEndpoint: dynamo.endpoint,
    endpoints,
    ...(options.awsLimits
      ? {
          awsLimits: {
            refused: () => ({
              ...prefixed('ec2', fleet.limitedEc2?.refused),
              ...prefixed('states', limitedSfn?.refused),
              ...prefixed('dynamodb', partitionProxy?.refused),
            }),
            dynamoPeaks: () => partitionProxy?.peaks() ?? [],
            terminationAcceptedAt: fleet.limitedEc2?.terminationAcceptedAt ?? new Map(),
          },
        }
      : {}),
    dynamoRequests: dynamo.requests,
    serviceCalls: () => ({
      ssmGetParameter: ssm.calls(),
      secretsManagerGetSecretValue: secretsManager.calls(),
    }),
    meterDynamoCapacity: dynamo.meterCapacity,
    dynamoCapacity: dynamo.capacity,
    fleet,
    close: async () => {
      clearInterval(reconciler);
      clearInterval(capacityWatcher);
      clearInterval(sweeper);
      // A sweep in flight finishes before the table it writes to closes.
      await sweeping;
      await watching;
      await server.close();
      await sfnEndpoint.close();
      await fleet.close();
      db.destroy();
      await partitionProxy?.close();
      await dynamo.close();
    },
  };
}
