import { OPERATION_HANDLERS } from '../../lambdas/api/operations.js';
import { loadOpenApiDocument, operationsOf } from '../../lambdas/contract/openapi-document.js';
import { MACHINE_ID_PATTERN } from '../../lambdas/core/ids.js';
import {
  CONTRACT_MAX_MINUTES,
  CONTRACT_MIN_MINUTES,
  PRODUCT_IDS,
} from '../../lambdas/core/products.js';

const document = loadOpenApiDocument();
const schemas = document.components.schemas as Record<
  string,
  { properties: Record<string, Record<string, unknown>> }
>;

describe('the core agrees with openapi.json', () => {
  it('knows exactly the products the contract lists', () => {
    expect(schemas.CreateMachineRequest?.properties.product_id?.enum).toEqual([...PRODUCT_IDS]);
    expect(schemas.Machine?.properties.product?.enum).toEqual([...PRODUCT_IDS]);
  });

  it('uses the contract duration bounds', () => {
    const duration = schemas.CreateMachineRequest?.properties.duration_minutes;
    expect([duration?.minimum, duration?.maximum]).toEqual([
      CONTRACT_MIN_MINUTES,
      CONTRACT_MAX_MINUTES,
    ]);
  });

  it('makes machine ids of the contract pattern', () => {
    const parameter = (
      document.components.parameters as Record<string, { schema: { pattern: string } }>
    ).MachineId;
    expect(MACHINE_ID_PATTERN.source).toBe(parameter?.schema.pattern);
  });

  it('has one handler per operation and no handler without an operation', () => {
    expect(Object.keys(OPERATION_HANDLERS).sort()).toEqual(
      operationsOf(document)
        .map((op) => op.operationId)
        .sort(),
    );
  });
});
