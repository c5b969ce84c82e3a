import { loadOpenApiDocument, type OpenApiDocument } from './openapi-document.js';

/** Operations an agent pays for, and what the payment buys. */
const PAID_OPERATIONS: Record<string, string> = {
  createOrder: 'Machine lease: the product base fee plus the per-minute price for duration_minutes',
  extendMachine: 'Lease extension: the per-minute price for additional_minutes',
};

/**
 * The MPP discovery document: the contract, pointed at this deployment, with
 * x-service-info and per-operation x-payment-info for the accepted methods. Amounts vary
 * with the order, so offers carry amount null; the 402 challenge is authoritative.
 */
export function discoveryDocument(options: {
  baseUrl: string;
  methods: readonly string[];
}): OpenApiDocument {
  const document = loadOpenApiDocument();
  document.servers = [{ url: options.baseUrl }];
  document['x-service-info'] = {
    categories: ['compute', 'infrastructure'],
    docs: { apiReference: `${options.baseUrl}/openapi.json` },
  };
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as {
      operationId?: string;
      [key: string]: unknown;
    }[]) {
      const description = operation.operationId
        ? PAID_OPERATIONS[operation.operationId]
        : undefined;
      if (!description) continue;
      operation['x-payment-info'] = {
        offers: options.methods.map((key) => {
          const [method, intent] = key.split('/');
          return { amount: null, currency: 'usd', intent, method, description };
        }),
      };
    }
  }
  return document;
}
