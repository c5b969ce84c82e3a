import AjvDraft04, { type ValidateFunction } from 'ajv-draft-04';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { apiGatewayDocument } from '../../lib/api-gateway-document.js';
import {
  HTTP_METHODS,
  loadOpenApiDocument,
  type OpenApiDocument,
  type OpenApiOperation,
  operationsOf,
} from '../contract/openapi-document.js';

/**
 * API Gateway's request validators, applied by the local front door as the deployed API
 * applies them: from the same derived document that `cdk deploy` imports
 * (lib/api-gateway-document.ts), before any function runs, answered with that document's
 * gateway responses (BAD_REQUEST_BODY, BAD_REQUEST_PARAMETERS).
 *
 * What API Gateway checks ("Request validation for REST APIs in API Gateway", developer guide):
 * - "The required request parameters in the URI, query string, and headers of an incoming
 *   request are included and not blank. API Gateway only checks the existence of a parameter
 *   and doesn't check the type or format."
 * - "The applicable request payload adheres to the configured JSON schema request of the
 *   method for a given content type. If no matching content type is found, request validation
 *   is not performed."
 * - "When the validation fails, API Gateway immediately fails the request, returns a 400 error
 *   response to the caller".
 * - Models: "In API Gateway, models are defined using the JSON schema draft 4" ("Data models
 *   for REST APIs"). The draft-4 rules that differ from the handlers' zod checks:
 *   - `integer` is "A JSON number without a fraction or exponent part" (draft-zyp-json-schema-04,
 *     section 3.5; OpenAPI 3.0 says the same): `15.0` and `1.5e1` are numbers, not integers,
 *     though JSON.parse (and zod after it) sees 15. A validator of parsed values cannot tell
 *     them apart, so the body's text is scanned for numbers written with a fraction or an
 *     exponent (`lexicalNumbers`).
 *   - `format` is an annotation draft 4 lets a validator skip; `uuid` is not even one of its
 *     formats. The contract's ids carry a `pattern` beside `format: uuid`, and the pattern is
 *     what is checked. A request model that names one of draft 4's own formats is refused
 *     here (`DRAFT4_FORMATS`): whether API Gateway checks those is not documented.
 *   - zod's checks beyond the schema (a guessable request_id, the product's own duration
 *     bounds, what makes an SSH key acceptable) are not in the model: such bodies pass the
 *     gateway and are refused by the handler, with its own message, on AWS and here alike.
 *
 * Beyond the documentation, two choices follow observed behaviour rather than a quote:
 * a request without Content-Type is validated as application/json (API Gateway's passthrough
 * table: "None — API Gateway defaults to application/json", "Method request behavior for
 * payloads without mapping templates"), and an empty body is validated as `{}` (LocalStack's
 * parity fix for API Gateway, localstack/localstack#7916), so an order without a body fails
 * on `required` at the gateway.
 */

export interface GatewayRequest {
  operationId: string;
  /** Header names as sent; compared without regard to case. */
  headers: Readonly<Record<string, string>>;
  query: Readonly<Record<string, string>>;
  pathParameters: Readonly<Record<string, string>>;
  body: string;
}

export interface GatewayRequestValidation {
  /** API Gateway's answer when its validator refuses the request; undefined when it passes. */
  refuse(request: GatewayRequest): APIGatewayProxyResult | undefined;
}

/** The formats draft 4 defines (section 7.3 of its validation document). */
const DRAFT4_FORMATS = new Set(['date-time', 'email', 'hostname', 'ipv4', 'ipv6', 'uri']);

/** Marks an `integer` schema so that numbers written with a fraction or exponent fail it. */
const LEXICAL_INTEGER = 'x-local-draft4-integer';

type Schema = Record<string, unknown>;
type GatewayResponses = Record<
  string,
  {
    statusCode?: string;
    responseParameters?: Record<string, string>;
    responseTemplates?: Record<string, string>;
  }
>;

const escapePointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * The JSON pointers (as ajv's instancePath writes them) of every number in a valid JSON text,
 * each with whether it is written as a draft-4 integer: digits only, no fraction or exponent.
 * A key given twice keeps its last value, as JSON.parse (and Jackson by default) do.
 */
export function lexicalNumbers(text: string): Map<string, boolean> {
  const numbers = new Map<string, boolean>();
  let at = 0;
  const space = () => {
    while (/\s/.test(text[at] ?? '')) at++;
  };
  const string = (): string => {
    const start = at;
    at++;
    while (text[at] !== '"') at += text[at] === '\\' ? 2 : 1;
    at++;
    return JSON.parse(text.slice(start, at)) as string;
  };
  const value = (pointer: string): void => {
    space();
    const first = text[at];
    if (first === '{') {
      at++;
      space();
      while (text[at] !== '}') {
        space();
        const key = string();
        space();
        at++; // ':'
        const member = `${pointer}/${escapePointer(key)}`;
        for (const seen of numbers.keys()) {
          if (seen === member || seen.startsWith(`${member}/`)) numbers.delete(seen);
        }
        value(member);
        space();
        if (text[at] === ',') at++;
        space();
      }
      at++;
    } else if (first === '[') {
      at++;
      space();
      let index = 0;
      while (text[at] !== ']') {
        value(`${pointer}/${index++}`);
        space();
        if (text[at] === ',') at++;
        space();
      }
      at++;
    } else if (first === '"') {
      string();
    } else if (first === '-' || /[0-9]/.test(first ?? '')) {
      const token = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;
      token.lastIndex = at;
      const match = token.exec(text)?.[0] ?? '';
      at += match.length;
      numbers.set(pointer, !/[.eE]/.test(match));
    } else {
      at += first === 'f' ? 5 : 4; // true, false, null
    }
  };
  value('');
  return numbers;
}

/** A component schema as API Gateway's model of it: draft 4, refs to the other models. */
function toModel(schema: unknown, models: Set<string>): unknown {
  if (Array.isArray(schema)) return schema.map((item) => toModel(item, models));
  if (!schema || typeof schema !== 'object') return schema;
  const result: Schema = {};
  for (const [key, value] of Object.entries(schema as Schema)) {
    if (key === '$ref' && typeof value === 'string') {
      const name = value.replace('#/components/schemas/', '');
      models.add(name);
      result.$ref = `models/${name}`;
    } else if (key === 'format' && typeof value === 'string' && DRAFT4_FORMATS.has(value)) {
      throw new Error(
        `a request model uses format ${value}: whether API Gateway checks draft-4 formats is not modelled locally`,
      );
    } else {
      result[key] = toModel(value, models);
    }
  }
  if (result.type === 'integer') result[LEXICAL_INTEGER] = true;
  return result;
}

const headerValue = (headers: Readonly<Record<string, string>>, name: string) =>
  Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];

/** The gateway response the document maps, as API Gateway renders it for `message`. */
function gatewayAnswer(
  responses: GatewayResponses,
  type: string,
  message: string,
): APIGatewayProxyResult {
  const response = responses[type] ?? responses.DEFAULT_4XX ?? {};
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  for (const [parameter, value] of Object.entries(response.responseParameters ?? {})) {
    const name = parameter.replace('gatewayresponse.header.', '');
    headers[name] = value.replace(/^'|'$/g, '');
  }
  const template =
    response.responseTemplates?.['application/json'] ?? '{"message":$context.error.messageString}';
  return {
    statusCode: Number(response.statusCode ?? 400),
    headers,
    body: template.replaceAll('$context.error.messageString', JSON.stringify(message)),
  };
}

interface OperationCheck {
  validateBody: boolean;
  validateParameters: boolean;
  required: { in: string; name: string }[];
  /** By media type; `$default` where the document declares it. */
  bodies: Map<string, ValidateFunction>;
}

/** Built once per process for the contract itself: every local server applies the same. */
let forTheContract: GatewayRequestValidation | undefined;

/**
 * The request validators of the document `cdk deploy` imports, for the local front door;
 * of another contract's document when given one (tests).
 */
export function gatewayRequestValidation(contract?: OpenApiDocument): GatewayRequestValidation {
  if (contract) return buildValidation(contract);
  forTheContract ??= buildValidation(loadOpenApiDocument());
  return forTheContract;
}

function buildValidation(contract: OpenApiDocument): GatewayRequestValidation {
  const integrations = Object.fromEntries(
    operationsOf(contract).map(({ operationId }) => [operationId, { uri: 'local' }]),
  );
  const document = apiGatewayDocument(contract, integrations) as OpenApiDocument;
  const validators = document['x-amazon-apigateway-request-validators'] as Record<
    string,
    { validateRequestBody: boolean; validateRequestParameters: boolean }
  >;
  const responses = document['x-amazon-apigateway-gateway-responses'] as GatewayResponses;
  const schemas = (document.components.schemas ?? {}) as Record<string, unknown>;
  const parameters = (document.components.parameters ?? {}) as Record<string, Schema>;

  let lexical = new Map<string, boolean>();
  // A CommonJS module: under nodenext its default import is module.exports, the class is .default.
  const ajv = new AjvDraft04.default({ strict: true, allErrors: false, validateFormats: false });
  ajv.addKeyword({
    keyword: LEXICAL_INTEGER,
    schemaType: 'boolean',
    validate: (
      _enabled: boolean,
      _data: unknown,
      _schema: unknown,
      context?: { instancePath: string },
    ) => lexical.get(context?.instancePath ?? '') !== false,
  });
  const added = new Set<string>();
  const addModel = (name: string): void => {
    if (added.has(name)) return;
    added.add(name);
    const referenced = new Set<string>();
    const model = toModel(schemas[name], referenced) as Schema;
    ajv.addSchema(
      { $schema: 'http://json-schema.org/draft-04/schema#', ...model },
      `models/${name}`,
    );
    for (const other of referenced) addModel(other);
  };

  const checks = new Map<string, OperationCheck>();
  for (const item of Object.values(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method] as OpenApiOperation | undefined;
      if (!operation?.operationId) continue;
      const validator = validators[String(operation['x-amazon-apigateway-request-validator'])];
      const required = ((operation.parameters ?? []) as Schema[])
        .map((parameter) =>
          typeof parameter.$ref === 'string'
            ? (parameters[parameter.$ref.replace('#/components/parameters/', '')] ?? {})
            : parameter,
        )
        .filter((parameter) => parameter.required === true)
        .map((parameter) => ({ in: String(parameter.in), name: String(parameter.name) }));
      const bodies = new Map<string, ValidateFunction>();
      const content = (operation.requestBody as { content?: Record<string, { schema?: unknown }> })
        ?.content;
      for (const [mediaType, { schema }] of Object.entries(content ?? {})) {
        if (!schema) continue;
        const referenced = new Set<string>();
        const model = toModel(schema, referenced) as Schema;
        for (const name of referenced) addModel(name);
        bodies.set(mediaType.toLowerCase(), ajv.compile(model));
      }
      checks.set(operation.operationId, {
        validateBody: validator?.validateRequestBody === true,
        validateParameters: validator?.validateRequestParameters === true,
        required,
        bodies,
      });
    }
  }

  const bodyPasses = (validate: ValidateFunction, body: string): boolean => {
    const text = body.trim() === '' ? '{}' : body;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return false;
    }
    lexical = lexicalNumbers(text);
    try {
      return validate(parsed) === true;
    } finally {
      lexical = new Map();
    }
  };

  return {
    refuse(request) {
      const check = checks.get(request.operationId);
      if (!check) return undefined;
      if (check.validateParameters) {
        const missing = check.required.filter(({ in: where, name }) => {
          const value =
            where === 'path'
              ? request.pathParameters[name]
              : where === 'query'
                ? request.query[name]
                : where === 'header'
                  ? headerValue(request.headers, name)
                  : 'not checked';
          return value === undefined || value.trim() === '';
        });
        if (missing.length) {
          return gatewayAnswer(
            responses,
            'BAD_REQUEST_PARAMETERS',
            `Missing required request parameters: [${missing.map(({ name }) => name).join(', ')}]`,
          );
        }
      }
      if (check.validateBody) {
        const mediaType = (headerValue(request.headers, 'content-type') ?? 'application/json')
          .split(';')[0]
          ?.trim()
          .toLowerCase();
        const validate = check.bodies.get(mediaType ?? '') ?? check.bodies.get('$default');
        if (validate && !bodyPasses(validate, request.body)) {
          return gatewayAnswer(responses, 'BAD_REQUEST_BODY', 'Invalid request body');
        }
      }
      return undefined;
    },
  };
}
