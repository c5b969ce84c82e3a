import { HTTP_METHODS, type OperationRef } from '../contract/openapi-document.js';

export interface Route extends OperationRef {
  pattern: RegExp;
  parameterNames: string[];
}

export type RouteMatch =
  | { kind: 'matched'; route: Route; pathParameters: Record<string, string> }
  /** The path exists but not with this method: 405 with `Allow`. */
  | { kind: 'method_not_allowed'; allowed: string[] }
  /** A path parameter that is not valid percent-encoded UTF-8: 400. */
  | { kind: 'bad_path'; error: string }
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

/** The methods one resource answers to, as `Allow` lists them: each GET also answers HEAD. */
function methodsOf(resource: Route[]): string[] {
  const declared = new Set<string>(resource.map((route) => route.method));
  if (declared.has('get')) declared.add('head');
  return HTTP_METHODS.filter((method) => declared.has(method)).map((method) =>
    method.toUpperCase(),
  );
}

/**
 * Like API Gateway, finds the resource first and the method second: a literal path wins over
 * a template (/orders/validate over /orders/{order_id}), and a method the resource lacks is a
 * 405 naming the ones it has — never a fall-through to a sibling template. HEAD is answered
 * by the GET handler; the server drops the body (the deployed API declares HEAD beside each
 * GET, see lib/api-gateway-document.ts).
 */
export function matchRoute(routes: Route[], method: string, path: string): RouteMatch {
  const resources = new Map<string, Route[]>();
  for (const route of routes) {
    if (!route.pattern.test(path)) continue;
    resources.set(route.path, [...(resources.get(route.path) ?? []), route]);
  }
  const resource = [...resources.values()].sort(
    (a, b) => (a[0]?.parameterNames.length ?? 0) - (b[0]?.parameterNames.length ?? 0),
  )[0];
  if (!resource) return { kind: 'no_route' };
  const wanted = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
  const route = resource.find((candidate) => candidate.method === wanted);
  if (!route) return { kind: 'method_not_allowed', allowed: methodsOf(resource) };
  const match = route.pattern.exec(path) ?? [];
  const pathParameters: Record<string, string> = {};
  for (const [index, name] of route.parameterNames.entries()) {
    const raw = match[index + 1] ?? '';
    try {
      pathParameters[name] = decodeURIComponent(raw);
    } catch {
      return {
        kind: 'bad_path',
        error: `path parameter ${name} is not valid percent-encoded UTF-8: ${raw}`,
      };
    }
  }
  return { kind: 'matched', route, pathParameters };
}
