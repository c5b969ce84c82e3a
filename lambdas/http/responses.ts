import type { APIGatewayProxyResult } from 'aws-lambda';

export type HeaderMap = Record<string, string>;

const BASE_HEADERS: HeaderMap = {
  'content-type': 'application/json',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function json(
  statusCode: number,
  body: unknown,
  headers: HeaderMap = {},
): APIGatewayProxyResult {
  return { statusCode, headers: { ...BASE_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export const errorResponse = (statusCode: number, message: string, headers: HeaderMap = {}) =>
  json(statusCode, { error: message }, headers);

/** Copies Fetch headers (a challenge's WWW-Authenticate, say) into a proxy result's map. */
export function headersOf(headers: Headers): HeaderMap {
  const map: HeaderMap = {};
  headers.forEach((value, name) => {
    map[name] = value;
  });
  return map;
}
