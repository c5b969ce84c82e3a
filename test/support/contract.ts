import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { loadOpenApiDocument, operationsOf } from '../../lambdas/contract/openapi-document.js';

/**
 * Checks API responses against openapi.json: the status must be documented for the
 * operation, and a JSON body must validate against the documented schema, in its strict view
 * (no property the contract does not name).
 */
const document = loadOpenApiDocument();
const ajv = new Ajv2020.default({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ $id: 'openapi', components: strictView(document.components) }, 'openapi');

type Schema = {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: unknown;
  allOf?: Schema[];
  items?: Schema;
  [key: string]: unknown;
};

/**
 * The contract as the tests hold responses to it: an object schema that does not say
 * otherwise admits no property it does not name (the public contract stays open to
 * additions; the storefront's own answers must not carry what it does not document). An
 * allOf of objects is merged into one object first, so each branch's properties count.
 */
export function strictView(components: { schemas?: Record<string, unknown> }) {
  const schemas = structuredClone(components.schemas ?? {}) as Record<string, Schema>;
  const resolve = (schema: Schema): Schema =>
    schema.$ref ? (schemas[schema.$ref.split('/').pop() ?? ''] ?? schema) : schema;
  const strict = (schema: Schema): Schema => {
    if (schema.allOf) {
      const branches = schema.allOf.map((branch) => strict(structuredClone(resolve(branch))));
      const { allOf: _merged, ...rest } = schema;
      return strict({
        ...rest,
        type: 'object',
        properties: Object.assign({}, ...branches.map((branch) => branch.properties ?? {})),
        required: [...new Set(branches.flatMap((branch) => branch.required ?? []))],
      });
    }
    if (schema.properties) {
      for (const [name, property] of Object.entries(schema.properties))
        schema.properties[name] = strict(property);
      if (schema.additionalProperties === undefined) schema.additionalProperties = false;
    }
    if (schema.items) schema.items = strict(schema.items);
    return schema;
  };
  for (const [name, schema] of Object.entries(schemas)) schemas[name] = strict(schema);
  return { ...components, schemas };
}

const toAjvRefs = (schema: unknown): unknown =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'));

const compiled = new Map<string, ReturnType<typeof ajv.compile>>();

type ResponseObject = {
  $ref?: string;
  content?: Record<string, { schema?: unknown }>;
  headers?: Record<string, { schema?: { type?: string } }>;
};

/**
 * The documented headers an agent acts on: a 402 carries its Payment challenge, and a 429 or
 * 503 that documents Retry-After sends it, as a whole number of seconds.
 */
function headerProblems(
  status: number,
  declared: ResponseObject,
  headers: Headers | undefined,
): string[] {
  if (!headers) return [];
  const problems: string[] = [];
  const documented = Object.keys(declared.headers ?? {}).map((name) => name.toLowerCase());
  if (status === 402 && documented.includes('www-authenticate')) {
    if (!/^Payment /.test(headers.get('www-authenticate') ?? ''))
      problems.push('402 without a WWW-Authenticate: Payment challenge');
  }
  if ((status === 429 || status === 503) && documented.includes('retry-after')) {
    if (!/^\d+$/.test(headers.get('retry-after') ?? ''))
      problems.push(`${status} without Retry-After in whole seconds`);
  }
  for (const name of documented) {
    const value = headers.get(name);
    if (value !== null && value.trim() === '') problems.push(`empty ${name} header`);
  }
  return problems;
}

function resolveResponse(response: ResponseObject): ResponseObject {
  if (!response.$ref) return response;
  const name = response.$ref.split('/').pop() ?? '';
  return (document.components.responses?.[name] ?? {}) as ResponseObject;
}

export function contractProblems(
  operationId: string,
  status: number,
  body: unknown,
  headers?: Headers,
): string[] {
  const operation = operationsOf(document).find(
    (candidate) => candidate.operationId === operationId,
  );
  if (!operation) return [`no operation ${operationId} in openapi.json`];
  const declared = operation.operation.responses[String(status)] as ResponseObject | undefined;
  if (!declared) return [`${operationId} does not document status ${status}`];
  const response = resolveResponse(declared);
  const fromHeaders = headerProblems(status, response, headers);
  const schema = response.content?.['application/json']?.schema;
  if (!schema) return fromHeaders;
  const key = `${operationId} ${status}`;
  const validate = compiled.get(key) ?? ajv.compile(toAjvRefs(schema) as object);
  compiled.set(key, validate);
  if (validate(body)) return fromHeaders;
  return [
    ...fromHeaders,
    ...(validate.errors ?? []).map(
      (error) =>
        `${error.instancePath || '(body)'} ${error.message}${
          error.keyword === 'additionalProperties'
            ? `: ${String((error.params as { additionalProperty?: string }).additionalProperty)}`
            : ''
        }`,
    ),
  ];
}

export function expectContract(
  operationId: string,
  status: number,
  body: unknown,
  headers?: Headers,
): void {
  const problems = contractProblems(operationId, status, body, headers);
  if (problems.length) {
    throw new Error(
      `response ${status} of ${operationId} breaks openapi.json:\n  ${problems.join('\n  ')}\nbody: ${JSON.stringify(body)}`,
    );
  }
}
