/**
 * What one lease costs on AWS besides its instance: API Gateway requests, Lambda invocations
 * and GB-seconds, Step Functions state transitions, DynamoDB request units, CloudFront requests
 * and data, the edge function and the web ACL, Parameter Store and Secrets Manager reads.
 *
 * The quantities come from one real lease run on the local storefront (real HTTP through the
 * local front door, the synthesised state machine, the local DynamoDB metering what dynalite
 * charges each request): `measureOneLease`. The prices are list prices for US East
 * (N. Virginia), beyond any free tier, each quoted from the page named beside it
 * (`PLATFORM_PRICES`). `npx tsx bin/lease-platform-cost.ts` prints the table; `npm run bench`
 * includes it; test/unit/lease-platform-cost.test.ts checks the arithmetic and that the counts
 * come from the run.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Mppx } from 'mppx/client';
import { createTableInput } from '../lambdas/adapters/dynamodb/table-design.js';
import { testChargeClient } from '../lambdas/adapters/payments/test-method.js';
import { DEFAULT_CATALOG } from '../lambdas/core/catalog.js';
import type { Logger } from '../lambdas/core/ports.js';
import type { ProductId } from '../lambdas/core/products.js';
import { leaseMargin } from '../lambdas/core/unit-economics.js';
import {
  type LocalStorefrontOptions,
  startLocalStorefront,
} from '../lambdas/local/local-storefront.js';
import { throwawayEd25519Key } from '../lambdas/operator/throwaway-ssh-key.js';
import { WORKFLOW_STEP_MEMORY_MB } from '../lib/lease-workflow.js';
import { DEFAULT_MEMORY_MB } from '../lib/node-function.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** When the prices below were read from their pages (stored copies; each page's own date is not known). */
export const PRICES_READ_ON = '2026-12-07';

export interface UnitPrice {
  /** US dollars per `per` units. */
  usd: number;
  per: number;
  unit: string;
  source: string;
  /** The words on the source page the price is taken from. */
  quote: string;
}

/**
 * US East (N. Virginia) list prices beyond the free tiers. Where AWS's own page was not at
 * hand, the source is a third-party page quoting AWS's price, and says so.
 */
export const PLATFORM_PRICES = {
  apiGatewayRestRequests: {
    usd: 3.5,
    per: 1_000_000,
    unit: 'REST API requests',
    source:
      'AWS whitepaper "Best Practices for Designing Amazon API Gateway Private APIs and Private Integration", Cost optimization, Table 4 (docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html)',
    quote: 'REST … First 333 million requests (per month): $3.50 (per million)',
  },
  lambdaRequests: {
    usd: 0.2,
    per: 1_000_000,
    unit: 'Lambda requests',
    source:
      'AWS whitepaper "How AWS Pricing Works", Lambda (docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html)',
    quote: '$0.20 per 1 million requests thereafter, or $0.0000002 per request.',
  },
  lambdaGbSeconds: {
    usd: 0.00001667,
    per: 1,
    unit: 'Lambda GB-seconds (x86)',
    source:
      'AWS whitepaper "How AWS Pricing Works", Lambda (docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html)',
    quote:
      '$0.00001667 for every GB-second used thereafter. … Duration is calculated from the time your code begins executing until it returns or otherwise terminates, rounded up to the nearest 1 millisecond (ms).',
  },
  stateTransitions: {
    usd: 0.025,
    per: 1_000,
    unit: 'Step Functions Standard state transitions',
    source: 'AWS Step Functions pricing (aws.amazon.com/step-functions/pricing/)',
    quote:
      'Step Functions counts a state transition each time a step of your workflow is executed. … including retries. … US East (N. Virginia) | $0.0250 [per 1,000 state transitions]',
  },
  dynamoWriteUnits: {
    usd: 0.625,
    per: 1_000_000,
    unit: 'DynamoDB on-demand write request units',
    source:
      'third-party page quoting AWS (airbyte.com/data-engineering-resources/dynamodb-pricing), US East',
    quote: 'Write Request Units (WRU): $0.625 per million write request units',
  },
  dynamoReadUnits: {
    usd: 0.125,
    per: 1_000_000,
    unit: 'DynamoDB on-demand read request units',
    source:
      'third-party page quoting AWS (airbyte.com/data-engineering-resources/dynamodb-pricing), US East',
    quote: 'Read Request Units (RRU): $0.125 per million read request units',
  },
  cloudFrontHttpsRequests: {
    usd: 0.01,
    per: 10_000,
    unit: 'CloudFront HTTPS requests',
    source:
      'third-party page quoting AWS (kindatechnical.com/aws-certification-associate-developer/lesson-87-cloudfront-pricing.html)',
    quote: 'Request Type | Price Per 10,000 Requests … HTTPS Requests | $0.0100',
  },
  cloudFrontDataOutGb: {
    usd: 0.085,
    per: 1,
    unit: 'CloudFront data transfer out, GB (United States, first 10 TB)',
    source: 'Amazon CloudFront pricing (aws.amazon.com/cloudfront/pricing)',
    quote:
      'Regional Data Transfer Out to Internet (per GB) … United States, Mexico, and Canada … First 10TB $0.085',
  },
  edgeFunctionRequests: {
    usd: 0.6,
    per: 1_000_000,
    unit: 'Lambda@Edge requests',
    source:
      'third-party page quoting AWS (kindatechnical.com/aws-certification-associate-developer/lesson-87-cloudfront-pricing.html)',
    quote: 'Lambda@Edge … After 1M Requests $0.60 [per 1M requests]',
  },
  wafRequests: {
    usd: 0.6,
    per: 1_000_000,
    unit: 'AWS WAF requests inspected',
    source: 'third-party page quoting AWS (c3x.dev/blog/aws-waf-cost-explained/)',
    quote: 'Requests: $0.60 per million web requests inspected by the ACL.',
  },
  secretsManagerCalls: {
    usd: 0.05,
    per: 10_000,
    unit: 'Secrets Manager API calls',
    source: 'third-party page quoting AWS (techoral.com/aws/aws-parameter-store-vs-secrets.html)',
    quote: 'Secrets Manager … $0.40/secret/month + $0.05/10k API calls',
  },
  parameterStoreReads: {
    usd: 0,
    per: 10_000,
    unit: 'Parameter Store standard parameter reads',
    source: 'third-party page quoting AWS (techoral.com/aws/aws-parameter-store-vs-secrets.html)',
    quote: 'SSM Parameter Store … Free (Standard tier) / $0.05/10k API calls (Advanced)',
  },
} as const satisfies Record<string, UnitPrice>;

export type PriceName = keyof typeof PLATFORM_PRICES;

/** One Lambda invocation as measured locally. */
export interface Invocation {
  function: string;
  ms: number;
  memoryMb: number;
}

/** What one lease used, counted in a local run. */
export interface LeaseUsage {
  product_id: ProductId;
  minutes: number;
  /** Requests that reached API Gateway through the front door (agent and ready callback); `bytes` is the response body's size. */
  requests: { method: string; path: string; status: number; bytes: number }[];
  /** API handlers and workflow steps that ran, with how long each took here. */
  invocations: Invocation[];
  /** States the lease's execution entered, in order: what Step Functions bills, one each. */
  states: string[];
  stateTransitions: number;
  dynamo: { readUnits: number; writeUnits: number; writeRequests: number };
  /** Global secondary indexes on the table: a write may also write each (not metered here). */
  indexes: number;
  parameterReads: number;
  secretReads: number;
}

export interface CostLine {
  item: string;
  quantity: number;
  price: PriceName;
  usd: number;
}

const priced = (item: string, quantity: number, price: PriceName): CostLine => {
  const { usd, per } = PLATFORM_PRICES[price];
  return { item, quantity, price, usd: (quantity * usd) / per };
};

/** Lambda bills duration "rounded up to the nearest 1 millisecond". */
export const gbSeconds = (invocations: readonly Invocation[]): number =>
  invocations.reduce(
    (sum, { ms, memoryMb }) => sum + (Math.max(1, Math.ceil(ms)) / 1000) * (memoryMb / 1024),
    0,
  );

/** The platform cost of one lease, line by line, from what the lease used. */
export function platformCost(usage: LeaseUsage): { lines: CostLine[]; totalUsd: number } {
  const requests = usage.requests.length;
  const bytes = usage.requests.reduce((sum, request) => sum + request.bytes, 0);
  const lines = [
    priced('front door requests (WAF)', requests, 'wafRequests'),
    priced('front door requests (CloudFront HTTPS)', requests, 'cloudFrontHttpsRequests'),
    priced('response bodies out of CloudFront (GB)', bytes / 1024 ** 3, 'cloudFrontDataOutGb'),
    priced('origin-response edge function runs', requests, 'edgeFunctionRequests'),
    priced('API Gateway REST requests', requests, 'apiGatewayRestRequests'),
    priced('Lambda invocations', usage.invocations.length, 'lambdaRequests'),
    priced('Lambda GB-seconds (local durations)', gbSeconds(usage.invocations), 'lambdaGbSeconds'),
    priced('Step Functions state transitions', usage.stateTransitions, 'stateTransitions'),
    priced('DynamoDB read request units', usage.dynamo.readUnits, 'dynamoReadUnits'),
    priced('DynamoDB write request units', usage.dynamo.writeUnits, 'dynamoWriteUnits'),
    priced(
      `DynamoDB index writes (at most ${usage.indexes} per write request)`,
      usage.dynamo.writeRequests * usage.indexes,
      'dynamoWriteUnits',
    ),
    priced('Parameter Store reads', usage.parameterReads, 'parameterStoreReads'),
    priced('Secrets Manager reads', usage.secretReads, 'secretsManagerCalls'),
  ];
  return { lines, totalUsd: lines.reduce((sum, line) => sum + line.usd, 0) };
}

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One lease, as an agent buys and uses it, on a fresh in-memory local storefront: the price
 * list, a quote, the order (402), the paid order (202), one read once the machine is active,
 * one read once the lease has ended by itself. The machine's ready callback is the other
 * request. The clock runs fast, so the lease's minutes pass in seconds.
 */
export async function measureOneLease(
  options: {
    product_id?: ProductId;
    minutes?: number;
    storefront?: Partial<LocalStorefrontOptions>;
  } = {},
): Promise<LeaseUsage> {
  const productId = options.product_id ?? 'bare-linux-machine';
  const minutes = options.minutes ?? 15;
  const requests: LeaseUsage['requests'] = [];
  const apiInvocations: Invocation[] = [];
  const running = await startLocalStorefront({
    port: 0,
    log: quiet,
    reconcileEveryMs: 0,
    sweepEveryMs: 0,
    watchCapacityEveryMs: 0,
    rateLimits: false,
    clockSpeedup: 600,
    ec2Timing: { bootMs: 6_000, readyMs: 6_000, shutdownMs: 6_000 },
    workflowTiming: { pollMs: 10, retryMs: 5 },
    ...options.storefront,
    onRequest: (line) => {
      requests.push({
        method: line.method,
        path: line.path,
        status: line.status,
        bytes: line.bytes,
      });
      if (line.invoked && line.operationId)
        apiInvocations.push({
          function: line.operationId,
          ms: line.ms,
          memoryMb: DEFAULT_MEMORY_MB,
        });
    },
  });
  try {
    const base = running.url;
    const dynamoBefore = await running.dynamoRequests();
    const callsBefore = running.serviceCalls();
    const stepsBefore = running.fleet.workflow.lambdaInvocations.length;
    running.meterDynamoCapacity();
    const body = JSON.stringify({
      request_id: randomUUID(),
      product_id: productId,
      duration_minutes: minutes,
      ssh_public_key: throwawayEd25519Key('platform-cost'),
    });
    const json = { 'content-type': 'application/json' };
    await (await fetch(`${base}/api/products`)).text();
    await (
      await fetch(`${base}/api/machine/mpp/orders/validate`, {
        method: 'POST',
        headers: json,
        body,
      })
    ).text();
    const agent = Mppx.create({ methods: [testChargeClient('paid')], polyfill: false });
    const paid = (await (
      await agent.fetch(`${base}/api/machine/mpp/orders`, { method: 'POST', headers: json, body })
    ).json()) as { machine: { machine_id: string; management: { read_token: string } } };
    const { machine_id: machineId, management } = paid.machine;
    const read = async () =>
      (
        (await (
          await fetch(`${base}/api/machines/${machineId}`, {
            headers: { authorization: `Bearer ${management.read_token}` },
          })
        ).json()) as { status: string }
      ).status;
    // The agent reads once the lease is active and once it has ended; it waits by the record
    // (not by polling the API, which would add requests an agent may or may not send).
    const until = async (statuses: string[]) => {
      for (let i = 0; i < 6000; i++) {
        const record = await running.storefront.machines.get(machineId, new Date(0));
        if (record && statuses.includes(record.status)) return;
        await sleep(5);
      }
      throw new Error(`lease ${machineId} never reached ${statuses.join(' or ')}`);
    };
    await until(['active']);
    await read();
    await running.fleet.workflow.execution(machineId)?.done;
    await until(['terminated']);
    await read();

    const dynamoAfter = await running.dynamoRequests();
    const capacity = await running.dynamoCapacity();
    const dynamo = { readUnits: 0, writeUnits: 0, writeRequests: 0 };
    for (const [key, units] of capacity) {
      const operation = key.split(' ').at(-1) ?? '';
      if (READS.has(operation)) dynamo.readUnits += units;
      if (WRITES.has(operation)) dynamo.writeUnits += units;
    }
    for (const [key, count] of dynamoAfter) {
      const operation = key.split(' ').at(-1) ?? '';
      if (WRITES.has(operation)) dynamo.writeRequests += count - (dynamoBefore.get(key) ?? 0);
    }
    const callsAfter = running.serviceCalls();
    const states = running.fleet.workflow.execution(machineId)?.states ?? [];
    const steps = running.fleet.workflow.lambdaInvocations
      .slice(stepsBefore)
      .map(({ function: fn, ms }) => ({ function: fn, ms, memoryMb: WORKFLOW_STEP_MEMORY_MB }));
    return {
      product_id: productId,
      minutes,
      requests,
      invocations: [...apiInvocations, ...steps],
      states: [...states],
      stateTransitions: states.length,
      dynamo,
      indexes: createTableInput('lease').GlobalSecondaryIndexes?.length ?? 0,
      parameterReads: callsAfter.ssmGetParameter - callsBefore.ssmGetParameter,
      secretReads:
        callsAfter.secretsManagerGetSecretValue - callsBefore.secretsManagerGetSecretValue,
    };
  } finally {
    await running.close();
  }
}

const usd = (value: number) => `$${value.toFixed(value < 0.01 ? 7 : 4)}`;

/** The table `npm run bench` prints: each line with its price and source, beside the instance. */
export function formatPlatformCost(usage: LeaseUsage): string {
  const { lines, totalUsd } = platformCost(usage);
  const product = DEFAULT_CATALOG[usage.product_id];
  const sale = leaseMargin(product, usage.minutes);
  const rows = lines.map((line) => {
    const price = PLATFORM_PRICES[line.price];
    const quantity = Number.isInteger(line.quantity)
      ? String(line.quantity)
      : line.quantity.toPrecision(4);
    const rate = `× $${price.usd} per ${price.per.toLocaleString('en-US')}`;
    return `  ${line.item.padEnd(56)} ${quantity.padStart(11)}  ${rate.padEnd(24)} ${usd(line.usd).padStart(11)}`;
  });
  const sources = Object.entries(PLATFORM_PRICES).map(
    ([name, price]) => `  ${name}: "${price.quote}" — ${price.source}`,
  );
  return [
    `One ${usage.minutes}-minute ${usage.product_id} lease, counted in a local run (${usage.requests.length} requests, ${usage.invocations.length} invocations, ${usage.stateTransitions} state transitions):`,
    ...rows,
    `  ${'platform total'.padEnd(56)} ${''.padStart(11)}  ${''.padEnd(24)} ${usd(totalUsd).padStart(11)}`,
    `  ${'instance and root volume (lambdas/core/unit-economics.ts)'.padEnd(56)} ${''.padStart(11)}  ${''.padEnd(24)} ${usd(sale.cost_cents / 100).padStart(11)}`,
    `Prices: US East (N. Virginia), list prices beyond free tiers, read ${PRICES_READ_ON}:`,
    ...sources,
    "Not counted: fixed monthly costs (web ACL and rules, alarms, the scheduled watcher, sweeper and reconciler, logs and metrics), Lambda cold starts and their secret and parameter reads on AWS (one warm local process ran every function), the edge function's GB-seconds and the viewer-request CloudFront Function, response headers, DynamoDB storage and refused conditional writes.",
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.info(formatPlatformCost(await measureOneLease()));
}
