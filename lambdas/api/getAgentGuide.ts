import { agentGuide } from '../contract/agent-guide.js';
import { apiRoute } from '../http/api-handler.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { parameterStorePublicUrl } from '../runtime/parts/parameter-store-public-url.js';

export const createGetAgentGuideHandler = apiRoute(
  { operationId: 'getAgentGuide' },
  async ({ storefront, baseUrl }) => ({
    statusCode: 200,
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'public, max-age=300',
      'x-content-type-options': 'nosniff',
    },
    body: agentGuide({
      baseUrl,
      catalog: storefront.settings.catalog,
      methods: storefront.payments.methods,
      allowUnpaidCreate: storefront.settings.allowUnpaidCreate,
      refundUnusedMinutes: storefront.settings.refundUnusedMinutes,
    }),
  }),
);

/** Lambda entry point. */
export const handler = onLambda(createGetAgentGuideHandler, { publicUrl: parameterStorePublicUrl });
