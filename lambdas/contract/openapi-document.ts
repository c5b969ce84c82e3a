import contract from '../../openapi.json' with { type: 'json' };

/** The public contract (the one source of request and response shapes), bundled with the code. */
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
  info: Record<string, unknown>;
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** A private copy of the contract, free to be changed by the caller. */
export function loadOpenApiDocument(): OpenApiDocument {
  return structuredClone(contract) as unknown as OpenApiDocument;
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
