import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { loadOpenApiDocument, operationsOf } from '../../lambdas/contract/openapi-document.js';

/**
 * Checks API responses against openapi.json: the status must be documented for the
 * operation, and a JSON body must validate against the documented schema.
 */
const document = loadOpenApiDocument();
const ajv = new Ajv2020.default({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ $id: 'openapi', components: document.components }, 'openapi');

const toAjvRefs = (schema: unknown): unknown =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'));

const compiled = new Map<string, ReturnType<typeof ajv.compile>>();

type ResponseObject = { $ref?: string; content?: Record<string, { schema?: unknown }> };

function resolveResponse(response: ResponseObject): ResponseObject {
  if (!response.$ref) return response;
  const name = response.$ref.split('/').pop() ?? '';
  return (document.components.responses?.[name] ?? {}) as ResponseObject;
}

export function contractProblems(operationId: string, status: number, body: unknown): string[] {
  const operation = operationsOf(document).find(
    (candidate) => candidate.operationId === operationId,
  );
  if (!operation) return [`no operation ${operationId} in openapi.json`];
  const declared = operation.operation.responses[String(status)] as ResponseObject | undefined;
  if (!declared) return [`${operationId} does not document status ${status}`];
  const schema = resolveResponse(declared).content?.['application/json']?.schema;
  if (!schema) return [];
  const key = `${operationId} ${status}`;
  const validate = compiled.get(key) ?? ajv.compile(toAjvRefs(schema) as object);
  compiled.set(key, validate);
  if (validate(body)) return [];
  return (validate.errors ?? []).map(
    (error) => `${error.instancePath || '(body)'} ${error.message}`,
  );
}

export function expectContract(operationId: string, status: number, body: unknown): void {
  const problems = contractProblems(operationId, status, body);
  if (problems.length) {
    throw new Error(
      `response ${status} of ${operationId} breaks openapi.json:\n  ${problems.join('\n  ')}\nbody: ${JSON.stringify(body)}`,
    );
  }
}
