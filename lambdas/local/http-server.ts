import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { Clock } from '../core/ports.js';
import type { ApiHandler } from '../http/api-handler.js';
import type { RateLimits } from '../http/rate-limit-rules.js';
import { type FrontDoorOptions, localFrontDoor } from './front-door-emulation.js';
import {
  type HeaderList,
  localOriginGuard,
  viewerRequestHeaders,
  withOriginHeaders,
} from './front-door-requests.js';
import {
  type GatewayRequestValidation,
  gatewayRequestValidation,
} from './gateway-request-validation.js';
import {
  answerClientError,
  answerConnect,
  answerExpectation,
  answerUpgrade,
  hostOf,
  jsonError,
  lastResort,
  methodNotAllowed,
  requestUrl,
  trackAnswer,
} from './http-conformance.js';
import type { Route } from './openapi-router.js';
import { matchRoute } from './openapi-router.js';
import { rateLimiter } from './rate-limiter.js';

/** API Gateway's own payload limit. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

export interface LocalHttpServer {
  /** The front door: what agents call. */
  url: string;
  /** Where API Gateway's execute-api URL would be, when asked for (FrontDoorOptions). */
  executeApiUrl?: string;
  close(): Promise<void>;
}

export interface LocalHttpOptions {
  host: string;
  port: number;
  routes: Route[];
  handlers: Readonly<Record<string, ApiHandler>>;
  /** The deployed response path (API Gateway's remapping, then the edge functions); on by default. */
  frontDoor?: FrontDoorOptions;
  /**
   * API Gateway's request validators (lambdas/local/gateway-request-validation.ts); by default
   * those of the document `cdk deploy` imports.
   */
  requestValidation?: GatewayRequestValidation;
  /** Per-client budgets, as the front door's WAF enforces them; false: no limits. */
  rateLimits: RateLimits | false;
  /**
   * How long a sender may take to send its headers before it gets a 408, and how often that
   * is checked; Node's defaults (60 s, every 30 s) unless a test needs a shorter wait.
   */
  slowSenders?: { headersTimeoutMs: number; checkEveryMs: number };
  /**
   * The storefront's clock: the `Date` header follows it, as bodies do (`--fast-clock` runs
   * it ahead of the real one). Node's real-time `Date` otherwise.
   */
  clock?: Clock;
  /** One line per request. */
  onRequest?: (line: {
    method: string;
    path: string;
    status: number;
    ms: number;
    operationId?: string;
    /** Whether the operation's function ran (not refused before it, e.g. by a validator). */
    invoked: boolean;
    /** The response body's size in bytes, as it leaves the front door. */
    bytes: number;
  }) => void;
}

class RequestTooLarge extends Error {}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) throw new RequestTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The request's headers in order, as the client sent them. */
function headerListOf(request: IncomingMessage): HeaderList {
  const list: HeaderList = [];
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    list.push([request.rawHeaders[i] ?? '', request.rawHeaders[i + 1] ?? '']);
  }
  return list;
}

/**
 * Name → value maps the way a proxy event carries them: every name an own data property, as
 * JSON.parse makes them on AWS, so a header or query key named `__proto__` or `constructor`
 * is one more entry rather than a lookup on Object.prototype.
 */
function entriesByName(pairs: Iterable<[string, string]>): {
  single: Record<string, string>;
  multi: Record<string, string[]>;
} {
  const byName = new Map<string, string[]>();
  for (const [name, value] of pairs) {
    const values = byName.get(name);
    if (values) values.push(value);
    else byName.set(name, [value]);
  }
  return {
    single: Object.fromEntries([...byName].map(([name, values]) => [name, values.at(-1) ?? ''])),
    multi: Object.fromEntries(byName),
  };
}

function proxyEvent(
  request: IncomingMessage,
  headerList: HeaderList,
  url: URL,
  route: Route,
  pathParameters: Record<string, string>,
  body: Buffer,
): APIGatewayProxyEvent {
  const { single: headers, multi: multiValueHeaders } = entriesByName(headerList);
  headers['X-Forwarded-Proto'] = 'http';
  multiValueHeaders['X-Forwarded-Proto'] = ['http'];
  const { single: query, multi: multiQuery } = entriesByName(url.searchParams);
  const requestId = randomUUID();
  return {
    resource: route.path,
    path: url.pathname,
    httpMethod: request.method ?? 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: url.searchParams.size ? query : null,
    multiValueQueryStringParameters: url.searchParams.size ? multiQuery : null,
    pathParameters: route.parameterNames.length ? pathParameters : null,
    stageVariables: null,
    body: body.length ? body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      authorizer: undefined,
      domainName: url.host,
      httpMethod: request.method ?? 'GET',
      identity: {
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
      } as APIGatewayProxyEvent['requestContext']['identity'],
      path: url.pathname,
      protocol: 'HTTP/1.1',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: route.path,
      stage: 'local',
    },
  };
}

function send(response: ServerResponse, result: APIGatewayProxyResult, clock?: Clock): void {
  const headers: Record<string, string | string[]> = {
    ...(result.headers as Record<string, string>),
  };
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    headers[name] = values.map(String);
  }
  if (clock) {
    for (const name of Object.keys(headers)) {
      if (name.toLowerCase() === 'date') delete headers[name];
    }
    headers.date = clock.now().toUTCString();
  }
  response.writeHead(result.statusCode, headers);
  response.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

type Entrance = 'front-door' | 'execute-api';

/** A missing Host is answered by requestUrl as JSON; Node's own check would send an empty 400. */
const serverOptions = (slowSenders: LocalHttpOptions['slowSenders']) => ({
  requireHostHeader: false,
  ...(slowSenders
    ? {
        headersTimeout: slowSenders.headersTimeoutMs,
        // Node requires requestTimeout to be at least headersTimeout (0 would mean none).
        requestTimeout: Math.max(slowSenders.headersTimeoutMs, 300_000),
        connectionsCheckingInterval: slowSenders.checkEveryMs,
      }
    : {}),
});

async function listen(
  server: ReturnType<typeof createServer>,
  host: string,
  port: number,
): Promise<string> {
  server.on('clientError', answerClientError);
  server.on('checkExpectation', answerExpectation);
  server.on('connect', answerConnect);
  server.on('upgrade', answerUpgrade);
  // A client that half-closes after its request (`printf … | nc`) still gets its answer, as
  // from CloudFront; Node's default ends the connection on the client's FIN, answer or not.
  (server as typeof server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  // An address that stands for every interface is no address to hand out: loopback is.
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${isIP(reachable) === 6 ? `[${reachable}]` : reachable}:${bound}`;
}

const closeServer = (server: ReturnType<typeof createServer>) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/**
 * Serves the API over HTTP the way the deployed stack does. At the front door (`url`), a
 * request meets the per-client limits (the front door's WAF), the viewer-request function and
 * the origin's custom header (CloudFront), the stage's web ACL, then API Gateway's routing of
 * openapi.json to the operation's handler as a proxy event; the answer takes API Gateway's
 * header remapping and the edge functions on its way back. At the execute-api entrance
 * (`executeApiUrl`, when asked for) a request skips CloudFront and the stage's web ACL
 * refuses it.
 */
export async function startLocalHttpServer(options: LocalHttpOptions): Promise<LocalHttpServer> {
  const frontDoor = localFrontDoor(options.frontDoor);
  const validation = options.requestValidation ?? gatewayRequestValidation();
  const limiter = options.rateLimits ? rateLimiter(options.rateLimits) : undefined;
  let frontDoorUrl = '';
  const guard = localOriginGuard(() => frontDoorUrl);
  const answer = async (
    entrance: Entrance,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> => {
    const started = performance.now();
    const url = requestUrl(request, hostOf(options.host, options.port));
    let result: APIGatewayProxyResult;
    let operationId: string | undefined;
    let fromIntegration = false;
    const throughFrontDoor = entrance === 'front-door';
    const admitted = throughFrontDoor
      ? limiter?.admit(request.socket.remoteAddress ?? '', request.method ?? 'GET')
      : undefined;
    const viewerHeaders = headerListOf(request);
    const headers = throughFrontDoor
      ? withOriginHeaders(
          viewerRequestHeaders(viewerHeaders, request.socket.remoteAddress ?? ''),
          guard.originHeaders,
        )
      : viewerHeaders;
    try {
      const body = await readBody(request);
      const match =
        url instanceof URL
          ? matchRoute(options.routes, request.method ?? 'GET', url.pathname)
          : ({ kind: 'no_route' } as const);
      const handler =
        match.kind === 'matched' ? options.handlers[match.route.operationId] : undefined;
      const refused = guard.refuse(headers);
      if (!(url instanceof URL)) {
        // CloudFront's own refusal, before its limits or any origin sees the request.
        result = jsonError(400, url.error);
      } else if (admitted && !admitted.allowed) {
        result = admitted.response;
      } else if (refused) {
        result = refused;
      } else if (match.kind === 'bad_path') {
        result = jsonError(400, match.error);
      } else if (match.kind === 'method_not_allowed') {
        result = methodNotAllowed(request.method ?? 'GET', url.pathname, match.allowed);
      } else if (match.kind !== 'matched') {
        result = jsonError(404, `no endpoint ${request.method} ${url.pathname}; see /openapi.json`);
      } else if (!handler) {
        // The server listens while the stack is still being built: the endpoint exists.
        result = jsonError(503, 'the storefront is starting; retry shortly', {
          'retry-after': '1',
        });
      } else {
        operationId = match.route.operationId;
        const event = proxyEvent(request, headers, url, match.route, match.pathParameters, body);
        // API Gateway's request validator answers before any function runs.
        const invalid = validation.refuse({
          operationId,
          headers: event.headers as Record<string, string>,
          query: (event.queryStringParameters ?? {}) as Record<string, string>,
          pathParameters: match.pathParameters,
          body: body.toString('utf8'),
        });
        const context = {
          awsRequestId: event.requestContext.requestId,
          functionName: operationId,
        } as Context;
        if (invalid) {
          result = invalid;
        } else {
          result = await handler(event, context);
          fromIntegration = true;
        }
      }
    } catch (error) {
      result =
        error instanceof RequestTooLarge
          ? jsonError(413, `request body must be at most ${MAX_REQUEST_BYTES} bytes`)
          : request.destroyed || (error as { code?: string }).code === 'ECONNRESET'
            ? jsonError(400, 'the request ended before its body was complete')
            : jsonError(500, 'internal error in the local server');
    }
    if (throughFrontDoor) {
      result = fromIntegration
        ? await frontDoor.integrationResponse(result)
        : await frontDoor.gatewayResponse(result);
    }
    // Unless the request was refused already, its body unreadable (answerClientError).
    if (!response.headersSent) send(response, result, options.clock);
    options.onRequest?.({
      method: request.method ?? 'GET',
      path: url instanceof URL ? url.pathname : (request.url ?? ''),
      status: result.statusCode,
      ms: Math.round(performance.now() - started),
      ...(operationId ? { operationId } : {}),
      invoked: fromIntegration,
      bytes: Buffer.byteLength(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8'),
    });
  };
  const frontDoorServer = createServer(serverOptions(options.slowSenders), (request, response) => {
    trackAnswer(response);
    answer('front-door', request, response).catch((error) => lastResort(response, error));
  });
  frontDoorUrl = await listen(frontDoorServer, options.host, options.port);
  const executeApiServer = options.frontDoor?.executeApiEntrance
    ? createServer(serverOptions(options.slowSenders), (request, response) => {
        trackAnswer(response);
        answer('execute-api', request, response).catch((error) => lastResort(response, error));
      })
    : undefined;
  const executeApiUrl = executeApiServer
    ? await listen(executeApiServer, options.host, 0)
    : undefined;
  return {
    url: frontDoorUrl,
    ...(executeApiUrl ? { executeApiUrl } : {}),
    close: async () => {
      await Promise.all(
        [frontDoorServer, executeApiServer]
          .filter((server) => server !== undefined)
          .map(closeServer),
      );
    },
  };
}
