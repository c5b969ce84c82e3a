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
});
