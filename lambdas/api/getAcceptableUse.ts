import { DEFAULT_ACCEPTABLE_USE_POLICY } from '../core/acceptable-use.js';
import { apiRoute } from '../http/api-handler.js';
import { onLambda } from '../runtime/lambda-entry.js';

/** GET /acceptable-use: the operator's policy (cdk.json), or the built-in one. */
export const createGetAcceptableUseHandler = apiRoute(
  { operationId: 'getAcceptableUse' },
  async ({ storefront }) => ({
    statusCode: 200,
    headers: {
      'content-type': 'text/markdown; charset=utf-8',
      'cache-control': 'public, max-age=300',
      'x-content-type-options': 'nosniff',
    },
    body: storefront.settings.acceptableUsePolicy ?? DEFAULT_ACCEPTABLE_USE_POLICY,
  }),
);

/** Lambda entry point: the text comes with the function's environment. */
export const handler = onLambda(createGetAcceptableUseHandler);
