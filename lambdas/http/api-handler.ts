import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ApiProblem, invalidRequest } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import type { Storefront } from '../core/use-cases/storefront.js';
import { VIEWER_ADDRESS_HEADER } from './front-door-only.js';
import { PROBLEM_STATUS } from './problem-status.js';
import { bodyText, header as headerValue, toFetchRequest } from './proxy-event.js';
import { errorResponse } from './responses.js';

/** Far above any valid body (an SSH key is capped at 8 KiB), far below API Gateway's 10 MB. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Added by CloudFront to origin requests (the AllViewerExceptHostHeader policy includes it). */

export interface RouteInput {
  event: APIGatewayProxyEvent;
  storefront: Storefront;
  /** The parsed JSON body, for operations that take one. */
  body: unknown;
  /**
   * Public URL of the API root, for links such as order_complete_url: the deployment's own
   * (OPERATION_ACCESS `publicUrl`), never the request's Host or X-Forwarded-* headers. Reading
   * it in a function not granted it is a bug, and throws.
   */
  readonly baseUrl: string;
  /** The same request as a Fetch Request, for mppx. */
  fetchRequest(): Request;
  pathParameter(name: string): string;
  header(name: string): string | undefined;
  /**
   * The client's address as the front door's WAF counts it (rate-limit-rules.ts): the viewer
   * address the viewer-request function sets (lib/front-door-functions.ts), replacing any
   * value a viewer sends under that name; else the address API Gateway saw.
   */
  clientAddress(): string | undefined;
}

/** The client's address (IPv4, or IPv6 unbracketed, as event.viewer.ip gives it). */
export function clientAddressOf(event: APIGatewayProxyEvent): string | undefined {
  const viewer = headerValue(event, VIEWER_ADDRESS_HEADER)?.trim();
  if (viewer) return viewer.replace(/^\[|\]$/g, '');
  return event.requestContext?.identity?.sourceIp || undefined;
}

export type RouteLogic = (input: RouteInput) => Promise<APIGatewayProxyResult>;

interface RouteOptions {
  operationId: string;
  takesBody?: boolean;
}

type ParsedEvent = APIGatewayProxyEvent & { parsedBody?: unknown };

function jsonBody(): middy.MiddlewareObj<ParsedEvent, APIGatewayProxyResult> {
  return {
    before: async (request) => {
      const text = bodyText(request.event);
      if (text === undefined || text.trim() === '') {
        throw invalidRequest('request body is required: send a JSON object');
      }
      if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
        throw invalidRequest(`request body must be at most ${MAX_BODY_BYTES} bytes`);
      }
      try {
        request.event.parsedBody = JSON.parse(text);
      } catch {
        throw invalidRequest('request body is not valid JSON');
      }
    },
  };
}

/** Every failure leaves as `{ "error": "…" }`; unexpected ones are logged, never echoed. */
function problemResponses(
  log: Logger,
  operationId: string,
): middy.MiddlewareObj<ParsedEvent, APIGatewayProxyResult> {
  return {
    onError: async (request) => {
      const { error } = request;
      if (error instanceof ApiProblem) {
        const status = PROBLEM_STATUS[error.kind];
        const extra: Record<string, string> =
          status === 401 ? { 'www-authenticate': 'Bearer realm="machines"' } : {};
        if (error.retryAfterSeconds !== undefined)
          extra['retry-after'] = String(error.retryAfterSeconds);
        request.response = errorResponse(status, error.message, extra);
        return;
      }
      const requestId = request.context?.awsRequestId ?? request.event.requestContext?.requestId;
      log.error('request.failed', {
        operation: operationId,
        request_id: requestId,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
      request.response = errorResponse(
        500,
        `internal error; nothing was charged twice and the request can be retried (request id ${requestId ?? 'unknown'})`,
      );
    },
  };
}

/**
 * The event as a Fetch Request. The path, query and headers are the request's own (the base
 * URL is the deployment's), and the conversion does no I/O, so
 * whatever Fetch refuses (a TypeError, from whichever realm) is the agent's bad input,
 * answered 400, never a 500.
 */
/**
 * The origin of the Request handed to mppx. mppx reads a request's URL only to guess a realm
 * when none is configured, and MPP_REALM always is (lib/storefront-stack.ts): the paid
 * operations then need no public URL, so extensions are not held up by it (reading it is a
 * start-up dependency on a parameter the stack writes last, see lib/public-url.ts).
 */
const PAYMENT_REQUEST_ORIGIN = 'https://storefront.invalid';

function fetchRequestOf(event: APIGatewayProxyEvent, baseUrl: string): Request {
  try {
    return toFetchRequest(event, baseUrl);
  } catch (error) {
    const reason =
      typeof error === 'object' && error !== null && 'message' in error
        ? String(error.message)
        : String(error);
    throw invalidRequest(
      `the request's URL or headers are not valid HTTP (${reason}); check Host and the X-Forwarded-* headers`,
    );
  }
}

export type ApiHandler = (
  event: APIGatewayProxyEvent,
  context: Context,
) => Promise<APIGatewayProxyResult>;

/**
 * Wraps one operation's logic in the middleware every handler shares: JSON body parsing,
 * problem → `{ error }` responses, and the request helpers. Handlers stay a few lines.
 */
export function apiRoute(options: RouteOptions, logic: RouteLogic) {
  return (storefront: Storefront): ApiHandler => {
    const handler = middy<ParsedEvent, APIGatewayProxyResult>().use(
      problemResponses(storefront.log, options.operationId),
    );
    if (options.takesBody) handler.use(jsonBody());
    const configuredBaseUrl = () => {
      const { publicBaseUrl } = storefront.settings;
      if (!publicBaseUrl)
        throw new Error(
          `${options.operationId} is not granted the public URL (operation-access.ts)`,
        );
      return publicBaseUrl;
    };
    return handler.handler(async (event) => {
      return logic({
        event,
        storefront,
        body: event.parsedBody,
        get baseUrl() {
          return configuredBaseUrl();
        },
        fetchRequest: () => fetchRequestOf(event, PAYMENT_REQUEST_ORIGIN),
        pathParameter: (name) => event.pathParameters?.[name] ?? '',
        header: (name) => headerValue(event, name),
        clientAddress: () => clientAddressOf(event),
      });
    }) as unknown as ApiHandler;
  };
}
