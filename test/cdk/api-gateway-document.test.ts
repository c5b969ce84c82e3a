import { loadOpenApiDocument, operationsOf } from '../../lambdas/contract/openapi-document.js';
import {
  ApiDocumentError,
  apiGatewayDocument,
  DROPPED,
  toOpenApi30Schema,
} from '../../lib/api-gateway-document.js';

const contract = loadOpenApiDocument();
const integrations = Object.fromEntries(
  operationsOf(contract).map(({ operationId }) => [operationId, { uri: `uri:${operationId}` }]),
);
const derived = apiGatewayDocument(contract, integrations) as unknown as typeof contract;

/** Strips what the derivation adds, so what remains can be compared with the contract. */
function withoutGatewayExtensions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutGatewayExtensions);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !key.startsWith('x-amazon-apigateway'))
      .map(([key, item]) => [key, withoutGatewayExtensions(item)]),
  );
}

describe('the document API Gateway imports', () => {
  it('describes the same operations, parameters, bodies and responses as openapi.json', () => {
    const expected = toOpenApi30Schema(structuredClone(contract)) as typeof contract;
    for (const key of DROPPED.root) delete expected[key];
    for (const key of DROPPED.components) delete expected.components[key];
    for (const item of Object.values(expected.paths)) {
      for (const operation of Object.values(item) as Record<string, unknown>[]) {
        for (const key of DROPPED.operation) delete operation[key];
      }
    }
    expected.openapi = '3.0.1';
    // HEAD beside each GET is the GET without its operationId (see the HTTP method tests below).
    for (const item of Object.values(expected.paths)) {
      if (!item.get) continue;
      const { operationId: _operationId, ...head } = item.get as Record<string, unknown>;
      item.head = head;
    }
    expect(withoutGatewayExtensions(derived)).toEqual(expected);
  });

  it('keeps every schema, parameter and status code of the contract', () => {
    expect(Object.keys(derived.components.schemas ?? {})).toEqual(
      Object.keys(contract.components.schemas ?? {}),
    );
    for (const { path, method, operation } of operationsOf(contract)) {
      const twin = (derived.paths[path]?.[method] ?? {}) as typeof operation;
      expect(twin.operationId).toBe(operation.operationId);
      expect(Object.keys(twin.responses)).toEqual(Object.keys(operation.responses));
      expect(JSON.stringify(twin.parameters ?? [])).toBe(
        JSON.stringify(operation.parameters ?? []),
      );
    }
  });

  it('drops only what API Gateway rejects, and says which', () => {
    expect(derived).not.toHaveProperty('servers');
    expect(derived.components).not.toHaveProperty('securitySchemes');
    expect(JSON.stringify(derived)).not.toContain('"security"');
    expect(DROPPED).toEqual({
      root: ['servers'],
      components: ['securitySchemes'],
      operation: ['security'],
    });
  });

  it('rewrites the 3.1 forms API Gateway does not read', () => {
    const text = JSON.stringify(derived);
    expect(text).not.toContain('"const"');
    expect(text).not.toMatch(/"type":\[/);
    const machine = (
      derived.components.schemas as Record<string, { properties: Record<string, unknown> }>
    ).Machine;
    expect(machine?.properties.host).toEqual({ type: 'string', nullable: true });
    expect(toOpenApi30Schema({ const: 'ok' })).toEqual({ enum: ['ok'] });
    expect(() => toOpenApi30Schema({ type: ['string', 'integer'] })).toThrow(ApiDocumentError);
  });

  it('fails when an operation has no function, or a function no operation', () => {
    const { health: _health, ...missing } = integrations;
    expect(() => apiGatewayDocument(contract, missing)).toThrow(/no function for \[health\]/);
    expect(() => apiGatewayDocument(contract, { ...integrations, bogus: { uri: 'x' } })).toThrow(
      /no operation for \[bogus\]/,
    );
  });

  describe('HTTP methods', () => {
    type Item = Record<string, Record<string, unknown>>;
    const paths = derived.paths as Record<string, Item>;

    it('declares HEAD beside every GET, calling the same function', () => {
      for (const item of Object.values(paths)) {
        if (!item.get) continue;
        expect(item.head?.['x-amazon-apigateway-integration']).toEqual(
          item.get['x-amazon-apigateway-integration'],
        );
        expect(item.head).not.toHaveProperty('operationId');
      }
    });

    it('answers any other method with a mock 405 naming the allowed ones', () => {
      const anyMethod = paths['/api/machines/{machine_id}']?.['x-amazon-apigateway-any-method'];
      const integration = anyMethod?.['x-amazon-apigateway-integration'] as {
        type: string;
        responses: { default: Record<string, Record<string, string>> };
      };
      expect(integration.type).toBe('mock');
      expect(integration.responses.default.statusCode).toBe('405');
      expect(integration.responses.default.responseParameters).toEqual({
        'method.response.header.Allow': "'GET, DELETE, HEAD'",
      });
      expect(
        JSON.parse(
          (integration.responses.default.responseTemplates?.['application/json'] ?? '').replace(
            '$context.httpMethod',
            'PUT',
          ),
        ),
      ).toEqual({
        error:
          'method PUT is not allowed on /api/machines/{machine_id}; allowed: GET, DELETE, HEAD',
      });
      for (const item of Object.values(paths)) {
        expect(item).toHaveProperty('x-amazon-apigateway-any-method');
      }
    });

    it('keeps the plain-text guide plain text', () => {
      const guide = paths['/llms.txt']?.get?.responses as Record<string, { content: object }>;
      expect(Object.keys(guide['200']?.content ?? {})).toEqual(['text/plain']);
    });
  });
});
