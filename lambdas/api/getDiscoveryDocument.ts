import { discoveryDocument } from '../contract/discovery-document.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';

export const createGetDiscoveryDocumentHandler = apiRoute(
  { operationId: 'getDiscoveryDocument' },
  async ({ storefront, knownBaseUrl }) =>
    json(
      200,
      discoveryDocument({
        baseUrl: knownBaseUrl,
        methods: storefront.payments.methods,
        catalog: storefront.settings.catalog,
      }),
      {
        'cache-control': 'public, max-age=300',
      },
    ),
);

/** Lambda entry point: needs no AWS client and no payment keys. */
export const handler = onLambda(createGetDiscoveryDocumentHandler);
