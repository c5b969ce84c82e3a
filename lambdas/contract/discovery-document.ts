import { acceptableUseUrl } from '../core/acceptable-use.js';
import { PRICE_FORMULA } from '../core/price-list.js';
import { type Catalog, PRODUCT_IDS } from '../core/products.js';
import { loadOpenApiDocument, type OpenApiDocument } from './openapi-document.js';

/** Operations an agent pays for, what the payment buys, and which price terms apply. */
const PAID_OPERATIONS: Record<string, { description: string; baseFee: boolean }> = {
  createOrder: {
    description:
      'Machine lease: the product base fee plus the per-minute price for duration_minutes',
    baseFee: true,
  },
  extendMachine: {
    description: 'Lease extension: the per-minute price for additional_minutes',
    baseFee: false,
  },
};

/**
 * The terms that make the amount: the amount itself depends on the body (product and
 * minutes), so an offer carries the formula and each product's terms instead of a number.
 */
function pricing(catalog: Catalog, baseUrl: string, baseFee: boolean) {
  return {
    formula: PRICE_FORMULA,
    unit: 'USD cents',
    price_list: `${baseUrl}/api/products`,
    products: Object.fromEntries(
      PRODUCT_IDS.map((id) => {
        const product = catalog[id];
        return [
          id,
          {
            ...(baseFee ? { base_fee_cents: product.baseFeeCents } : {}),
            cents_per_minute: product.centsPerMinute,
            min_minutes: product.minMinutes,
            max_minutes: product.maxMinutes,
          },
        ];
      }),
    ),
  };
}

/**
 * The MPP discovery document: the contract, pointed at this deployment, with
 * x-service-info and per-operation x-payment-info for the accepted methods. Amounts vary
 * with the order, so each offer states the price formula and terms; the 402 challenge is
 * authoritative. `servers` and the links are absolute where the deployment's URL is known
 * (the front door's, or the stage's), relative to wherever the document was fetched from
 * otherwise.
 */
export function discoveryDocument(options: {
  baseUrl: string | undefined;
  methods: readonly string[];
  catalog: Catalog;
}): OpenApiDocument {
  const { catalog } = options;
  const baseUrl = options.baseUrl ?? '';
  const document = loadOpenApiDocument();
  document.servers = [{ url: options.baseUrl ?? '/' }];
  document.info.termsOfService = acceptableUseUrl(baseUrl);
  document['x-service-info'] = {
    categories: ['compute', 'infrastructure'],
    docs: {
      homepage: `${baseUrl}/`,
      apiReference: `${baseUrl}/openapi.json`,
      llms: `${baseUrl}/llms.txt`,
    },
  };
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as {
      operationId?: string;
      [key: string]: unknown;
    }[]) {
      const paid = operation.operationId ? PAID_OPERATIONS[operation.operationId] : undefined;
      if (!paid) continue;
      operation['x-payment-info'] = {
        offers: options.methods.map((key) => {
          const [method, intent] = key.split('/');
          return {
            currency: 'usd',
            intent,
            method,
            description: paid.description,
            pricing: pricing(catalog, baseUrl, paid.baseFee),
          };
        }),
      };
    }
  }
  return document;
}
