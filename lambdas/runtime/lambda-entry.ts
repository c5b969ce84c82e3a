import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { Storefront } from '../core/use-cases/storefront.js';
import type { ApiHandler } from '../http/api-handler.js';
import { errorResponse } from '../http/responses.js';
import { awsStorefront } from './aws-storefront.js';
import { jsonLogger } from './logger.js';

/**
 * The Lambda entry of an API operation: builds the AWS storefront once per container
 * (secrets are read then) and hands each event to the operation's handler. A failed
 * start is answered with a 503 and retried on the next invocation.
 */
export function onLambda(factory: (storefront: Storefront) => ApiHandler): ApiHandler {
  let ready: Promise<ApiHandler> | undefined;
  return async (event: APIGatewayProxyEvent, context: Context) => {
    ready ??= awsStorefront().then(factory);
    let handler: ApiHandler;
    try {
      handler = await ready;
    } catch (error) {
      ready = undefined;
      jsonLogger().error('storefront.start_failed', {
        error: error instanceof Error ? error.message : String(error),
      });
      return errorResponse(503, 'the storefront is starting or misconfigured; retry shortly', {
        'retry-after': '5',
      });
    }
    return handler(event, context);
  };
}
