import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { Storefront } from '../core/use-cases/storefront.js';
import type { ApiHandler } from '../http/api-handler.js';
import { errorResponse } from '../http/responses.js';
import { composeStorefront } from './aws-storefront.js';
import { jsonLogger } from './logger.js';
import type { FunctionRuntime } from './runtime-clients.js';
import type { StorefrontParts } from './storefront-parts.js';

export interface ApiFunction {
  /** Lambda's handler: composed from process.env and the real AWS clients on first use. */
  (event: APIGatewayProxyEvent, context: Context): ReturnType<ApiHandler>;
  /**
   * The same function in another runtime: the same entry, environment parsing and
   * composition, with the environment and clients given (the local storefront, tests).
   */
  with(runtime: FunctionRuntime): ApiHandler & { storefront(): Promise<Storefront> };
}

/**
 * The Lambda entry of an API operation: builds its storefront once per container (secrets
 * are read then) from only the parts the entry names, and hands each event to the
 * operation's handler. A failed start is answered with a 503 and retried on the next event.
 */
export function onLambda(
  route: (storefront: Storefront) => ApiHandler,
  parts: StorefrontParts = {},
): ApiFunction {
  const instance = (runtime: () => FunctionRuntime) => {
    let ready: Promise<{ storefront: Storefront; handler: ApiHandler }> | undefined;
    const start = () => {
      ready ??= composeStorefront(parts, runtime()).then((storefront) => ({
        storefront,
        handler: route(storefront),
      }));
      return ready;
    };
    const handler: ApiHandler = async (event, context) => {
      let started: { handler: ApiHandler };
      try {
        started = await start();
      } catch (error) {
        ready = undefined;
        (runtime().clients?.log ?? jsonLogger()).error('storefront.start_failed', {
          error: error instanceof Error ? error.message : String(error),
        });
        return errorResponse(503, 'the storefront is starting or misconfigured; retry shortly', {
          'retry-after': '5',
        });
      }
      return started.handler(event, context);
    };
    return Object.assign(handler, {
      storefront: async () => (await start()).storefront,
    });
  };
  const lambda = instance(() => ({ env: process.env }));
  return Object.assign((event: APIGatewayProxyEvent, context: Context) => lambda(event, context), {
    with: (runtime: FunctionRuntime) => instance(() => runtime),
  });
}
