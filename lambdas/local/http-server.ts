import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { ApiHandler } from '../http/api-handler.js';
import type { RateLimits } from '../http/rate-limit-rules.js';
import { type FrontDoorOptions, localFrontDoor } from './front-door-emulation.js';
import { answerClientError, jsonError, methodNotAllowed } from './http-conformance.js';
import type { Route } from './openapi-router.js';
import { matchRoute } from './openapi-router.js';
import { rateLimiter } from './rate-limiter.js';

/** API Gateway's own payload limit. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

export interface LocalHttpServer {
  url: string;
  close(): Promise<void>;
}

export interface LocalHttpOptions {
  host: string;
  port: number;
  routes: Route[];
  handlers: Readonly<Record<string, ApiHandler>>;
  /** The deployed response path (API Gateway's remapping, then the edge functions); on by default. */
  frontDoor?: FrontDoorOptions;
  /** Per-client budgets, as the front door's WAF enforces them; false: no limits. */
  rateLimits: RateLimits | false;
  /** One line per request. */
  onRequest?: (line: {
    method: string;
    path: string;
    status: number;
    ms: number;
    operationId?: string;
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

function proxyEvent(
  request: IncomingMessage,
  url: URL,
  route: Route,
  pathParameters: Record<string, string>,
  body: Buffer,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i] ?? '';
    const value = request.rawHeaders[i + 1] ?? '';
    headers[name] = value;
    const existing = multiValueHeaders[name];
    if (existing) existing.push(value);
    else multiValueHeaders[name] = [value];
  }
  headers['X-Forwarded-Proto'] = 'http';
  multiValueHeaders['X-Forwarded-Proto'] = ['http'];
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    const existing = multiQuery[name];
    if (existing) existing.push(value);
    else multiQuery[name] = [value];
  }
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

function send(response: ServerResponse, result: APIGatewayProxyResult): void {
  const headers: Record<string, string | string[]> = {
    ...(result.headers as Record<string, string>),
  };
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    headers[name] = values.map(String);
  }
  response.writeHead(result.statusCode, headers);
  response.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

/**
 * Serves the API over HTTP the way API Gateway's REST proxy integration would: each request
 * becomes a proxy event for the handler of the operation openapi.json routes it to.
 */
export async function startLocalHttpServer(options: LocalHttpOptions): Promise<LocalHttpServer> {
  const frontDoor = localFrontDoor(options.frontDoor);
  const limiter = options.rateLimits ? rateLimiter(options.rateLimits) : undefined;
  const server = createServer(async (request, response) => {
    const started = performance.now();
    const url = new URL(
      request.url ?? '/',
      `http://${request.headers.host ?? `${options.host}:${options.port}`}`,
    );
    let result: APIGatewayProxyResult;
    let operationId: string | undefined;
    let fromIntegration = false;
    const admitted = limiter?.admit(request.socket.remoteAddress ?? '', request.method ?? 'GET');
    try {
      const body = await readBody(request);
      let match: ReturnType<typeof matchRoute>;
      try {
        match = matchRoute(options.routes, request.method ?? 'GET', url.pathname);
      } catch {
        match = { kind: 'no_route' };
      }
      const handler =
        match.kind === 'matched' ? options.handlers[match.route.operationId] : undefined;
      if (admitted && !admitted.allowed) {
        result = admitted.response;
      } else if (match.kind === 'method_not_allowed') {
        result = methodNotAllowed(request.method ?? 'GET', url.pathname, match.allowed);
      } else if (match.kind !== 'matched' || !handler) {
        result = jsonError(404, `no endpoint ${request.method} ${url.pathname}; see /openapi.json`);
      } else {
        operationId = match.route.operationId;
        const event = proxyEvent(request, url, match.route, match.pathParameters, body);
        const context = {
          awsRequestId: event.requestContext.requestId,
          functionName: operationId,
        } as Context;
        result = await handler(event, context);
        fromIntegration = true;
      }
    } catch (error) {
      result =
        error instanceof RequestTooLarge
          ? jsonError(413, `request body must be at most ${MAX_REQUEST_BYTES} bytes`)
          : jsonError(500, 'internal error in the local server');
    }
    result = fromIntegration
      ? await frontDoor.integrationResponse(result)
      : await frontDoor.gatewayResponse(result);
    send(response, result);
    options.onRequest?.({
      method: request.method ?? 'GET',
      path: url.pathname,
      status: result.statusCode,
      ms: Math.round(performance.now() - started),
      ...(operationId ? { operationId } : {}),
    });
  });
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
