import type { APIGatewayProxyResult, CloudFrontHeaders, CloudFrontResponseEvent } from 'aws-lambda';
import { RESPONSE_EDGE_FUNCTIONS, type ResponseEdgeFunction } from '../edge/edge-associations.js';

/**
 * The deployed response path, reproduced for the local server: API Gateway REST's header
 * handling for Lambda proxy integrations, then the CloudFront edge functions the stack
 * deploys, on the events and status codes CloudFront runs them on (README "Operating on AWS"
 * quotes the documentation both follow).
 */

type Treatment = 'remapped' | 'remapped-overwritten' | 'dropped';

/**
 * API Gateway REST, response headers from a Lambda proxy integration ("Amazon API Gateway
 * important notes for REST APIs"): remapped headers reach the client as
 * x-amzn-Remapped-<name>; for "remapped overwritten" ones API Gateway writes its own value
 * under the original name; dropped ones never reach the client.
 */
export const LAMBDA_PROXY_RESPONSE_HEADERS: Readonly<Record<string, Treatment>> = {
  Authorization: 'remapped',
  Connection: 'remapped',
  'Content-MD5': 'remapped',
  Date: 'remapped-overwritten',
  Expect: 'dropped',
  Host: 'dropped',
  'Max-Forwards': 'remapped',
  'Proxy-Authenticate': 'dropped',
  Server: 'remapped-overwritten',
  TE: 'dropped',
  'Transfer-Encoding': 'dropped',
  Trailer: 'dropped',
  Upgrade: 'dropped',
  'User-Agent': 'remapped',
  Via: 'dropped',
  'WWW-Authenticate': 'remapped',
};

const treatments = new Map(
  Object.entries(LAMBDA_PROXY_RESPONSE_HEADERS).map(([name, treatment]) => [
    name.toLowerCase(),
    { name, treatment },
  ]),
);

type HeaderList = [name: string, value: string][];

/**
 * A proxy result's headers as one list. API Gateway documents that when `headers` and
 * `multiValueHeaders` are both given they are merged, the multi-value ones winning for a key.
 */
function headerList(result: APIGatewayProxyResult): HeaderList {
  const list: HeaderList = [];
  const multi = Object.entries(result.multiValueHeaders ?? {});
  const inMulti = new Set(multi.map(([name]) => name.toLowerCase()));
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    if (!inMulti.has(name.toLowerCase())) list.push([name, String(value)]);
  }
  for (const [name, values] of multi) for (const value of values) list.push([name, String(value)]);
  return list;
}

const withHeaders = (result: APIGatewayProxyResult, list: HeaderList): APIGatewayProxyResult => {
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of list) {
    const values = multiValueHeaders[name] ?? [];
    values.push(value);
    multiValueHeaders[name] = values;
  }
  const { headers: _single, ...rest } = result;
  return { ...rest, multiValueHeaders };
};

/** What API Gateway REST does to a Lambda proxy integration's response headers. */
export function apiGatewayProxyResponse(
  result: APIGatewayProxyResult,
  now: () => Date = () => new Date(),
): APIGatewayProxyResult {
  const list: HeaderList = [];
  for (const [name, value] of headerList(result)) {
    const rule = treatments.get(name.toLowerCase());
    if (!rule) list.push([name, value]);
    else if (rule.treatment !== 'dropped') list.push([`x-amzn-Remapped-${rule.name}`, value]);
  }
  if (treatments.get('date')?.treatment === 'remapped-overwritten') {
    list.push(['Date', now().toUTCString()]);
  }
  return withHeaders(result, list);
}

function cloudFrontHeaders(list: HeaderList): CloudFrontHeaders {
  const headers: CloudFrontHeaders = {};
  for (const [key, value] of list) {
    const entries = headers[key.toLowerCase()] ?? [];
    entries.push({ key, value });
    headers[key.toLowerCase()] = entries;
  }
  return headers;
}

function headerListOf(headers: CloudFrontHeaders): HeaderList {
  return Object.entries(headers).flatMap(([name, entries]) =>
    entries.map(({ key, value }): [string, string] => [key ?? name, value]),
  );
}

const responseEvent = (
  eventType: ResponseEdgeFunction['eventType'],
  status: number,
  list: HeaderList,
): CloudFrontResponseEvent => ({
  Records: [
    {
      cf: {
        config: {
          distributionDomainName: 'local.cloudfront.net',
          distributionId: 'LOCAL',
          eventType,
          requestId: 'local',
        },
        request: { clientIp: '127.0.0.1', headers: {}, method: 'GET', querystring: '', uri: '/' },
        response: {
          status: String(status),
          statusDescription: '',
          headers: cloudFrontHeaders(list),
        },
      },
    },
  ],
});

/**
 * Runs the response-path edge functions as CloudFront would: origin-response functions on
 * every origin response; viewer-response functions only below status 400 ("CloudFront
 * doesn't invoke edge functions for viewer response events when the origin returns HTTP
 * status code 400 or higher").
 */
export async function cloudFrontResponse(
  result: APIGatewayProxyResult,
  functions: readonly ResponseEdgeFunction[],
): Promise<APIGatewayProxyResult> {
  let status = result.statusCode;
  let list = headerList(result);
  for (const eventType of ['origin-response', 'viewer-response'] as const) {
    if (eventType === 'viewer-response' && status >= 400) continue;
    for (const fn of functions.filter((candidate) => candidate.eventType === eventType)) {
      const response = await fn.handler(responseEvent(eventType, status, list));
      status = Number(response.status);
      list = headerListOf(response.headers);
    }
  }
  return withHeaders({ ...result, statusCode: status }, list);
}

export interface FrontDoorOptions {
  /**
   * `deployed` (the default): the edge functions the stack deploys. `none`: API Gateway's
   * remapping without any edge function, to show what agents would get without the fix.
   */
  edgeFunctions?: 'deployed' | 'none';
  /**
   * Also listen where API Gateway's execute-api URL would be: a request there skips
   * CloudFront (its limits, functions and origin header) and the stage's web ACL refuses it
   * with 421 (lambdas/local/front-door-requests.ts).
   */
  executeApiEntrance?: boolean;
}

export interface LocalFrontDoor {
  /** A handler's proxy result on its way to the agent: API Gateway, then CloudFront. */
  integrationResponse(result: APIGatewayProxyResult): Promise<APIGatewayProxyResult>;
  /** A response API Gateway makes itself (no route, too large): CloudFront only. */
  gatewayResponse(result: APIGatewayProxyResult): Promise<APIGatewayProxyResult>;
}

export function localFrontDoor(options: FrontDoorOptions = {}): LocalFrontDoor {
  const functions = options.edgeFunctions === 'none' ? [] : RESPONSE_EDGE_FUNCTIONS;
  return {
    integrationResponse: (result) => cloudFrontResponse(apiGatewayProxyResponse(result), functions),
    gatewayResponse: (result) => cloudFrontResponse(result, functions),
  };
}
