import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The public contract, read from the repository root (the one source of request/response shapes). */
export const OPENAPI_PATH = fileURLToPath(new URL('../../openapi.json', import.meta.url));

export interface OpenApiOperation {
  operationId: string;
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
  security?: unknown[];
  [key: string]: unknown;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation | unknown>>;
  components: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

export function loadOpenApiDocument(path = OPENAPI_PATH): OpenApiDocument {
  return JSON.parse(readFileSync(path, 'utf8')) as OpenApiDocument;
}

export interface OperationRef {
  operationId: string;
  method: (typeof HTTP_METHODS)[number];
  path: string;
  operation: OpenApiOperation;
}

/** Every operation of the document, in document order. */
export function operationsOf(document: OpenApiDocument): OperationRef[] {
  const operations: OperationRef[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method] as OpenApiOperation | undefined;
      if (operation?.operationId)
        operations.push({ operationId: operation.operationId, method, path, operation });
    }
  }
  return operations;
}
