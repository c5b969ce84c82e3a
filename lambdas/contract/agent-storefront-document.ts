import { acceptableUseUrl } from '../core/acceptable-use.js';
import { PRICE_FORMULA, productTerms } from '../core/price-list.js';
import { type Catalog, PRODUCT_IDS } from '../core/products.js';
import { loadOpenApiDocument } from './openapi-document.js';

export interface AgentStorefrontInput {
  /** The deployment's public URL (never read off a request). */
  baseUrl: string;
  catalog: Catalog;
  /** `name/intent` of each accepted payment method. */
  methods: readonly string[];
  refundUnusedMinutes: boolean;
  retentionDays: number;
}

/**
 * /.well-known/agent-storefront.json: the storefront described for an agent that probes the
 * well-known location, from the same catalog, payment methods and contract as /llms.txt and
 * /openapi.json, with the acceptable-use policy that paying accepts.
 */
export function agentStorefrontDocument(input: AgentStorefrontInput) {
  const { baseUrl, catalog, methods, refundUnusedMinutes, retentionDays } = input;
  const contract = loadOpenApiDocument() as { info?: { version?: string } };
  return {
    name: 'Agentic Compute Storefront',
    description:
      'Temporary Linux and H100 machines, leased per order and paid over HTTP 402 (Machine Payments Protocol).',
    service_url: baseUrl,
    api_version: contract.info?.version ?? null,
    llms_txt_url: `${baseUrl}/llms.txt`,
    openapi_url: `${baseUrl}/openapi.json`,
    products_url: `${baseUrl}/api/products`,
    health_url: `${baseUrl}/api/health`,
    acceptable_use_url: acceptableUseUrl(baseUrl),
    products: PRODUCT_IDS.map((id) => ({
      ...productTerms(catalog[id]),
      min_extension_minutes: catalog[id].minExtensionMinutes,
      username: catalog[id].username,
    })),
    price_formula: PRICE_FORMULA,
    payment: {
      protocol: 'mpp',
      methods: [...methods],
      order_url: `${baseUrl}/api/machine/mpp/orders`,
      quote_url: `${baseUrl}/api/machine/mpp/orders/validate`,
      order_credential_header: 'Authorization',
      extension_credential_header: 'Payment-Authorization',
    },
    refunds: refundUnusedMinutes
      ? 'Terminating a lease early refunds its unused whole minutes at cents_per_minute; the base fee, the minimum lease (min_minutes) and minutes bought by extensions are kept. A lease that fails before use is refunded in full.'
      : 'Unused minutes are not refunded on early termination. A lease that fails before use is refunded in full.',
    tokens: {
      issued:
        'In the paid 202 answer (machine.management): read_token (mt_read_…), extend_token (mt_extend_…), terminate_token (mt_term_…); an identical retry of the paid order returns them again.',
      use: 'Authorization: Bearer <token> on GET, POST …/extend and DELETE /api/machines/{machine_id}; each token authorises only its own operation on its own machine.',
      handling: `Keep them and the order request_id secret (whoever has the request_id and the body can re-read the tokens); never log or share them; the terminate token ends the lease. Read access lasts ${retentionDays} days after the lease ends.`,
    },
  };
}

export type AgentStorefrontDocument = ReturnType<typeof agentStorefrontDocument>;
