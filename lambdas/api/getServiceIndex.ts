import { acceptableUseUrl } from '../core/acceptable-use.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { parameterStorePublicUrl } from '../runtime/parts/parameter-store-public-url.js';

/** GET /: where an agent that knows only the host starts. */
export const createGetServiceIndexHandler = apiRoute(
  { operationId: 'getServiceIndex' },
  async ({ baseUrl }) =>
    json(
      200,
      {
        name: 'Agentic Compute Storefront',
        description:
          'Temporary Linux and H100 machines, leased per order and paid over HTTP 402 (Machine Payments Protocol).',
        llms_txt: `${baseUrl}/llms.txt`,
        acceptable_use: acceptableUseUrl(baseUrl),
        openapi: `${baseUrl}/openapi.json`,
        agent_storefront: `${baseUrl}/.well-known/agent-storefront.json`,
        products: `${baseUrl}/api/products`,
        health: `${baseUrl}/api/health`,
      },
      { 'cache-control': 'public, max-age=300' },
    ),
);

/** Lambda entry point. */
export const handler = onLambda(createGetServiceIndexHandler, {
  publicUrl: parameterStorePublicUrl,
});
