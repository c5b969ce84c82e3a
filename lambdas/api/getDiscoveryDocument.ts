import { discoveryDocument } from '../contract/discovery-document.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';

export const createGetDiscoveryDocumentHandler = apiRoute(
  { operationId: 'getDiscoveryDocument' },
  async ({ storefront }) =>
    json(
      200,
      discoveryDocument({
        // Relative (servers: "/"): resolved against wherever the agent fetched it. Reading the
        // deployment's URL would bundle an AWS SDK client into this light function, and no
        // request header may decide a URL the storefront hands out.
        baseUrl: undefined,
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
