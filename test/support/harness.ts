import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { expect } from '@jest/globals';
import { Mppx as ClientMppx } from 'mppx/client';
import { testChargeClient } from '../../lambdas/adapters/payments/test-method.js';
import { loadOpenApiDocument, operationsOf } from '../../lambdas/contract/openapi-document.js';
import { PRODUCT_IDS } from '../../lambdas/core/products.js';
import {
  LOCAL_TABLE_NAME,
  type LocalStorefrontOptions,
  type RunningStorefront,
  startLocalStorefront,
} from '../../lambdas/local/local-storefront.js';
import { buildRoutes, matchRoute } from '../../lambdas/local/openapi-router.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';
import { cachedLocalStack } from './cached-local-stack.js';
import { expectContract } from './contract.js';
import { AGENT_KEY } from './ssh-keys.js';

const routes = buildRoutes(operationsOf(loadOpenApiDocument()));

export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  /** The raw body, for answers that are not JSON. */
  text?: string;
}

/** JSON bodies parsed; text (llms.txt) kept as text; HEAD answers have none. */
function parseBody(response: Response, text: string): unknown {
  if (!text) return undefined;
  return response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
}

/**
 * With STATUS_LOG set (a file path), every answer's operation and status is appended with the
 * test that got it: the raw material of test/contract/status-coverage.ts.
 */
function recordStatus(operationId: string, status: number) {
  const log = process.env.STATUS_LOG;
  if (!log) return;
  const { testPath, currentTestName } = expect.getState();
  appendFileSync(
    log,
    `${JSON.stringify({ operationId, status, file: relative(process.cwd(), testPath ?? ''), test: currentTestName })}\n`,
  );
}

/** Fetch that checks every API response against openapi.json before handing it on. */
export async function contractCheckedFetch(
  input: RequestInfo | URL,
  init?: RequestInit,
): Promise<Response> {
  const response = await fetch(input, init);
  const url = new URL(input instanceof Request ? input.url : String(input));
  const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
  const match = matchRoute(routes, method, url.pathname);
  if (match.kind === 'matched') {
    const text = await response.clone().text();
    expectContract(
      match.route.operationId,
      response.status,
      parseBody(response, text),
      response.headers,
    );
    recordStatus(match.route.operationId, response.status);
  }
  return response;
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;

/** Each product's live leases per key raised far, unless the test's override sets them. */
function withRoomyKeyLimits(override: unknown): Record<string, Record<string, unknown>> {
  const given = (override ?? {}) as Record<string, Record<string, unknown>>;
  return Object.fromEntries(
    PRODUCT_IDS.map((id) => [id, { maxLiveLeasesPerKey: 1000, ...given[id] }]),
  );
}

export async function startHarness(
  options: Partial<LocalStorefrontOptions> = {},
  /**
   * Whether answers are held to openapi.json (default). Off only where a test shows a
   * deployment that breaks it on purpose (API Gateway without the edge function).
   */
  { checkContract = true }: { checkContract?: boolean } = {},
) {
  const checkedFetch = checkContract ? contractCheckedFetch : fetch;
  const log = memoryLogger();
  const running: RunningStorefront = await startLocalStorefront({
    port: 0,
    log,
    ec2Timing: { bootMs: 20, readyMs: 20, shutdownMs: 20 },
    workflowTiming: { pollMs: 10, retryMs: 5 },
    reconcileEveryMs: 0,
    // It runs once at start; tests that change the simulated limits call fleet.watchCapacity().
    watchCapacityEveryMs: 0,
    // Journeys poll far faster than an agent may; the limits have their own tests.
    rateLimits: false,
    sweepEveryMs: 0,
    synthesizeStack: cachedLocalStack,
    ...options,
    // Journeys buy many leases with one key; the per-key limit has its own tests (blocks.test.ts).
    catalogOverride: withRoomyKeyLimits(options.catalogOverride),
  });
  const base = running.url;

  const request = async (
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Reply> => {
    const body =
      init.body === undefined
        ? undefined
        : typeof init.body === 'string'
          ? init.body
          : JSON.stringify(init.body);
    const response = await checkedFetch(`${base}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await response.text();
    const parsed = parseBody(response, text);
    return {
      status: response.status,
      headers: response.headers,
      body: (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<
        string,
        unknown
      >,
      text,
    };
  };

  const bearer = (token: string | undefined): Record<string, string> =>
    token === undefined ? {} : { authorization: `Bearer ${token}` };

  /** An agent paying with the test method, over the real HTTP server. */
  const agent = (outcome: 'paid' | 'declined' = 'paid') =>
    ClientMppx.create({
      methods: [testChargeClient(outcome)],
      polyfill: false,
      fetch: checkedFetch,
    });

  const pay = async (
    outcome: 'paid' | 'declined',
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    const response = await agent(outcome).fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : {},
    } as Reply;
  };

  const dynamo = new DynamoDBClient({
    endpoint: running.dynamoEndpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

  return {
    url: base,
    executeApiUrl: running.executeApiUrl,
    /** Where the operator command reaches this storefront (table, workflows). */
    endpoints: running.endpoints,
    storefront: running.storefront,
    storefrontOf: running.storefrontOf,
    stack: running.stack,
    fleet: running.fleet,
    log,
    request,
    agent,
    health: () => request('GET', '/api/health'),
    validate: (body: unknown) => request('POST', '/api/machine/mpp/orders/validate', { body }),
    order: (body: unknown, headers: Record<string, string> = {}) =>
      request('POST', '/api/machine/mpp/orders', { body, headers }),
    payOrder: (body: unknown, outcome: 'paid' | 'declined' = 'paid') =>
      pay(outcome, 'POST', '/api/machine/mpp/orders', body),
    getOrder: (orderId: string) => request('GET', `/api/machine/mpp/orders/${orderId}`),
    createUnpaid: (body: unknown) => request('POST', '/api/machines', { body }),
    machine: (id: string, token?: string) =>
      request('GET', `/api/machines/${id}`, { headers: bearer(token) }),
    terminate: (id: string, token?: string) =>
      request('DELETE', `/api/machines/${id}`, { headers: bearer(token) }),
    extend: (
      id: string,
      token: string | undefined,
      body: unknown,
      headers: Record<string, string> = {},
    ) =>
      request('POST', `/api/machines/${id}/extend`, {
        body,
        headers: { ...bearer(token), ...headers },
      }),
    payExtension: (
      id: string,
      token: string,
      body: unknown,
      outcome: 'paid' | 'declined' = 'paid',
    ) => pay(outcome, 'POST', `/api/machines/${id}/extend`, body, bearer(token)),
    /** Items in the table, to prove that refused requests stored nothing. */
    itemCount: async () => {
      const { Count } = await dynamo.send(
        new ScanCommand({ TableName: LOCAL_TABLE_NAME, Select: 'COUNT' }),
      );
      return Count ?? 0;
    },
    /** Polls the machine until it reaches one of the statuses. */
    waitForStatus: async (id: string, token: string, statuses: string[], timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const reply = await request('GET', `/api/machines/${id}`, { headers: bearer(token) });
        if (statuses.includes(String(reply.body.status))) return reply;
        if (Date.now() > deadline) throw new Error(`machine ${id} stayed ${reply.body.status}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    close: async () => {
      dynamo.destroy();
      await running.close();
    },
  };
}

export function orderBody(overrides: Record<string, unknown> = {}) {
  return {
    request_id: randomUUID(),
    product_id: 'bare-linux-machine',
    duration_minutes: 60,
    ssh_public_key: AGENT_KEY,
    ...overrides,
  };
}

export interface PaidMachine {
  orderId: string;
  machineId: string;
  tokens: { read_token: string; extend_token: string; terminate_token: string };
  reply: Reply;
}

export async function buyMachine(
  harness: Harness,
  overrides: Record<string, unknown> = {},
): Promise<PaidMachine> {
  const reply = await harness.payOrder(orderBody(overrides));
  if (reply.status !== 202)
    throw new Error(`order not paid: ${reply.status} ${JSON.stringify(reply.body)}`);
  const machine = reply.body.machine as { machine_id: string; management: PaidMachine['tokens'] };
  return {
    orderId: String(reply.body.order_id),
    machineId: machine.machine_id,
    tokens: machine.management,
    reply,
  };
}
