import { agentStorefrontDocument } from '../contract/agent-storefront-document.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { parameterStorePublicUrl } from '../runtime/parts/parameter-store-public-url.js';

/** GET /.well-known/agent-storefront.json: the storefront, described where agents probe for it. */
export const createGetAgentStorefrontHandler = apiRoute(
  { operationId: 'getAgentStorefront' },
  async ({ storefront, baseUrl }) =>
    json(
      200,
      agentStorefrontDocument({
        baseUrl,
        catalog: storefront.settings.catalog,
        methods: storefront.payments.methods,
        refundUnusedMinutes: storefront.settings.refundUnusedMinutes,
        retentionDays: storefront.settings.retentionDays,
      }),
      { 'cache-control': 'public, max-age=300' },
    ),
);

/** Lambda entry point. */
export const handler = onLambda(createGetAgentStorefrontHandler, {
  publicUrl: parameterStorePublicUrl,
});
