import {
  HTTP_METHODS,
  type OpenApiDocument,
  type OpenApiOperation,
  operationsOf,
} from '../lambdas/contract/openapi-document.js';

/**
 * API Gateway imports OpenAPI 3.0 with JSON Schema draft-04 models, not the 3.1 contract.
 * This derives the document it accepts: schemas rewritten to the 3.0 forms
 * (`const` → `enum`, `type: [X, "null"]` → `nullable`), the parts it rejects dropped
 * (listed in DROPPED so a test can prove nothing else goes missing), and one Lambda
 * proxy integration injected per operationId.
 */
export const DROPPED = {
  root: ['servers'],
  components: ['securitySchemes'],
  operation: ['security'],
} as const;

/** Request validators: bodies are validated where the operation costs money or changes state. */
export const REQUEST_VALIDATORS = {
  'body-and-parameters': { validateRequestBody: true, validateRequestParameters: true },
  parameters: { validateRequestBody: false, validateRequestParameters: true },
} as const;

/**
 * validateOrder exists to explain what is wrong with a body in words; the gateway's
 * validator could only say "Invalid request body", so its body is checked by the handler.
 */
export const BODY_CHECKED_BY_HANDLER = new Set(['validateOrder']);

/**
 * API Gateway's own answers (unknown route, invalid body, throttling, integration failure),
 * rewritten so that every error body is `{ "error": "…" }` like the handlers'. They live in
 * the imported document: a re-import would otherwise drop responses defined beside it.
 * `$context.error.messageString` is API Gateway's message as a quoted, escaped JSON string;
 * templates allow nothing but such substitutions.
 */
export const GATEWAY_RESPONSES: Record<string, { statusCode?: string; body: string }> = {
  MISSING_AUTHENTICATION_TOKEN: {
    statusCode: '404',
    body: '{"error":"no such endpoint; GET /openapi.json lists them"}',
  },
  BAD_REQUEST_BODY: {
    statusCode: '400',
    // One text for every operation's body: name the general rule, and the one place that
    // explains a failing field in words (order bodies, the body agents get wrong most).
    body: '{"error":"request body does not match this operation\'s schema in /openapi.json (required fields, types, no unknown fields); for an order body, POST it to /api/machine/mpp/orders/validate to see which field fails and why"}',
  },
  BAD_REQUEST_PARAMETERS: { statusCode: '400', body: '{"error":$context.error.messageString}' },
  THROTTLED: {
    statusCode: '429',
    body: '{"error":"too many requests; retry with exponential backoff"}',
  },
  REQUEST_TOO_LARGE: { statusCode: '413', body: '{"error":"request body is too large"}' },
  UNSUPPORTED_MEDIA_TYPE: {
    statusCode: '415',
    body: '{"error":"send request bodies as application/json"}',
  },
  INTEGRATION_TIMEOUT: {
    statusCode: '504',
    body: '{"error":"the request timed out; it is safe to retry the same request"}',
  },
  DEFAULT_4XX: { body: '{"error":$context.error.messageString}' },
  DEFAULT_5XX: { body: '{"error":"internal error; it is safe to retry the same request"}' },
};

/**
 * HEAD beside every GET, and a 405 with `Allow` for any other method a path lacks. API
 * Gateway answers an undeclared method like an unknown path (403 "Missing Authentication
 * Token", here rewritten to 404), and serves HEAD only where it is declared. Its catch-all
 * method "can exist alongside other Operation objects and will catch any HTTP method that
 * wasn't explicitly declared" (API Gateway developer guide, x-amazon-apigateway-any-method),
 * so a mock integration there answers 405 without calling a function. The local front door
 * (lambdas/local/openapi-router.ts) answers the same.
 */
function answerEveryMethod(path: string, item: Record<string, unknown>): void {
  const get = item.get as OpenApiOperation | undefined;
  if (get) {
    const { operationId: _operationId, ...head } = structuredClone(get);
    item.head = head;
  }
  const allowed = HTTP_METHODS.filter((method) => item[method]).map((method) =>
    method.toUpperCase(),
  );
  const allow = allowed.join(', ');
  item['x-amazon-apigateway-any-method'] = {
    responses: {
      '405': {
        description: 'Method not allowed on this path; Allow lists the ones it has.',
        headers: { Allow: { schema: { type: 'string' } } },
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    },
    'x-amazon-apigateway-integration': {
      type: 'mock',
      requestTemplates: { 'application/json': '{"statusCode": 405}' },
      passthroughBehavior: 'when_no_match',
      responses: {
        default: {
          statusCode: '405',
          responseParameters: {
            'method.response.header.Allow': `'${allow}'`,
          },
          responseTemplates: {
            'application/json': `{"error":"method $context.httpMethod is not allowed on ${path}; allowed: ${allow}"}`,
          },
        },
      },
    },
  };
}

export class ApiDocumentError extends Error {
  override name = 'ApiDocumentError';
}

type Schema = Record<string, unknown>;

/** One JSON Schema 2020-12 / OpenAPI 3.1 schema in its OpenAPI 3.0 form. */
export function toOpenApi30Schema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toOpenApi30Schema);
  if (!schema || typeof schema !== 'object') return schema;
  const result: Schema = {};
  for (const [key, value] of Object.entries(schema as Schema)) {
    if (key === 'const') {
      result.enum = [value];
    } else if (key === 'type' && Array.isArray(value)) {
      const types = value.filter((type) => type !== 'null');
      if (types.length !== 1)
        throw new ApiDocumentError(`cannot express type ${JSON.stringify(value)} in OpenAPI 3.0`);
      result.type = types[0];
      if (types.length !== value.length) result.nullable = true;
    } else if (key === 'examples' || key === '$schema') {
      // Not part of OpenAPI 3.0 schemas; documentation only.
    } else {
      result[key] = toOpenApi30Schema(value);
    }
  }
  return result;
}

export interface Integration {
  /** The Lambda invocation URI for API Gateway (arn:<partition>:apigateway:…:lambda:path/…/invocations). */
  uri: string;
}

export function apiGatewayDocument(
  contract: OpenApiDocument,
  integrations: Readonly<Record<string, Integration>>,
): Record<string, unknown> {
  const operations = operationsOf(contract);
  const documented = new Set(operations.map((operation) => operation.operationId));
  const withoutHandler = [...documented].filter((id) => !integrations[id]);
  const withoutOperation = Object.keys(integrations).filter((id) => !documented.has(id));
  if (withoutHandler.length || withoutOperation.length) {
    throw new ApiDocumentError(
      `openapi.json and the functions disagree: no function for [${withoutHandler.join(', ')}], no operation for [${withoutOperation.join(', ')}]`,
    );
  }

  const document = toOpenApi30Schema(structuredClone(contract)) as Record<string, unknown> &
    OpenApiDocument;
  document.openapi = '3.0.1';
  for (const key of DROPPED.root) delete document[key];
  for (const key of DROPPED.components) delete document.components[key];

  for (const item of Object.values(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method] as OpenApiOperation | undefined;
      if (!operation) continue;
      for (const key of DROPPED.operation) delete operation[key];
      const integration = integrations[operation.operationId];
      operation['x-amazon-apigateway-integration'] = {
        type: 'aws_proxy',
        httpMethod: 'POST',
        uri: integration?.uri,
        passthroughBehavior: 'when_no_match',
        timeoutInMillis: 29_000,
      };
      operation['x-amazon-apigateway-request-validator'] =
        operation.requestBody && !BODY_CHECKED_BY_HANDLER.has(operation.operationId)
          ? 'body-and-parameters'
          : 'parameters';
    }
  }
  for (const [path, item] of Object.entries(document.paths)) answerEveryMethod(path, item);
  document['x-amazon-apigateway-request-validators'] = REQUEST_VALIDATORS;
  document['x-amazon-apigateway-gateway-responses'] = Object.fromEntries(
    Object.entries(GATEWAY_RESPONSES).map(([type, response]) => [
      type,
      {
        ...(response.statusCode ? { statusCode: response.statusCode } : {}),
        responseParameters: { 'gatewayresponse.header.Cache-Control': "'no-store'" },
        responseTemplates: { 'application/json': response.body },
      },
    ]),
  );
  return document;
}
