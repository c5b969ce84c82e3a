import type { OperationRef } from '../contract/openapi-document.js';

export interface Route extends OperationRef {
  pattern: RegExp;
  parameterNames: string[];
}

export type RouteMatch =
  | { kind: 'matched'; route: Route; pathParameters: Record<string, string> }
  | { kind: 'no_route' };

/** Routes requests the way API Gateway does for the imported document: by path template and method. */
export function buildRoutes(operations: OperationRef[]): Route[] {
  return operations.map((operation) => {
    const parameterNames: string[] = [];
    const source = operation.path
      .split('/')
      .map((segment) => {
        const parameter = /^\{(\w+)\}$/.exec(segment);
        if (!parameter?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        parameterNames.push(parameter[1]);
        return '([^/]+)';
      })
      .join('/');
    return { ...operation, pattern: new RegExp(`^${source}$`), parameterNames };
  });
}

export function matchRoute(routes: Route[], method: string, path: string): RouteMatch {
  // Literal paths win over templates, as in API Gateway (/orders/validate vs /orders/{order_id}).
  const candidates = routes
    .filter((route) => route.method === method.toLowerCase())
    .sort((a, b) => a.parameterNames.length - b.parameterNames.length);
  for (const route of candidates) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    const pathParameters = Object.fromEntries(
      route.parameterNames.map((name, index) => [name, decodeURIComponent(match[index + 1] ?? '')]),
    );
    return { kind: 'matched', route, pathParameters };
  }
  return { kind: 'no_route' };
}
