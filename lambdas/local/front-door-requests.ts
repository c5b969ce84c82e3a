import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { VIEWER_REQUEST } from '../../lib/front-door-functions.js';
import { misdirectedResponse, ORIGIN_VERIFY_HEADER } from '../http/front-door-only.js';

/**
 * The deployed request path, reproduced for the local server: what CloudFront does to a
 * viewer's request before it reaches API Gateway (the viewer-request CloudFront Function the
 * stack deploys, then the origin's custom header), and the API stage's web ACL that refuses
 * requests that did not come that way (lambdas/http/front-door-only.ts).
 */

export type HeaderList = [name: string, value: string][];

type CloudFrontFunctionHeaders = Record<string, { value: string }>;
type ViewerRequestFunction = (event: {
  request: { headers: CloudFrontFunctionHeaders };
  viewer: { ip: string };
}) => {
  headers: CloudFrontFunctionHeaders;
};

/** The CloudFront Function's own source (cloudfront-js-2.0), run as the edge runtime calls it. */
const viewerRequest = new Function(`${VIEWER_REQUEST}; return handler;`)() as ViewerRequestFunction;

const withoutHeader = (list: HeaderList, name: string): HeaderList =>
  list.filter(([candidate]) => candidate.toLowerCase() !== name.toLowerCase());

/**
 * The viewer-request function on the viewer's headers (CloudFront Functions see them keyed in
 * lower case); a header it sets replaces every value the viewer sent under that name.
 */
export function viewerRequestHeaders(list: HeaderList, viewerIp: string): HeaderList {
  // The first value per lower-case name; own properties only (a header may be `__proto__`).
  const sent = new Map<string, string>();
  for (const [name, value] of list) {
    if (!sent.has(name.toLowerCase())) sent.set(name.toLowerCase(), value);
  }
  const headers: CloudFrontFunctionHeaders = Object.fromEntries(
    [...sent].map(([name, value]) => [name, { value }]),
  );
  const request = viewerRequest({ request: { headers }, viewer: { ip: viewerIp } });
  let result = list;
  for (const name of sent.keys()) {
    if (!Object.hasOwn(request.headers, name)) result = withoutHeader(result, name);
  }
  for (const [name, { value }] of Object.entries(request.headers)) {
    if (sent.get(name) === value) continue;
    result = [...withoutHeader(result, name), [name, value]];
  }
  return result;
}

/**
 * Origin custom headers: "If the header names and values that you specify are not already
 * present in the viewer request, CloudFront adds them to the origin request. If a header is
 * present, CloudFront overwrites the header value before forwarding the request to the
 * origin" (CloudFront developer guide, "Add custom headers to origin requests").
 */
export function withOriginHeaders(list: HeaderList, origin: Record<string, string>): HeaderList {
  let result = list;
  for (const [name, value] of Object.entries(origin)) {
    result = [...withoutHeader(result, name), [name, value]];
  }
  return result;
}

export interface LocalOriginGuard {
  /** The custom header the local front door adds to every request it passes on. */
  originHeaders: Record<string, string>;
  /** The stage's web ACL: undefined lets the request through, else the 421 it gets. */
  refuse(list: HeaderList): APIGatewayProxyResult | undefined;
}

/**
 * A generated origin secret, as the stack's Secrets Manager secret; kept in memory only. The
 * front door's URL is known once its server listens.
 */
export function localOriginGuard(frontDoorUrl: () => string): LocalOriginGuard {
  const secret = randomBytes(24).toString('hex');
  const expected = Buffer.from(secret);
  return {
    originHeaders: { [ORIGIN_VERIFY_HEADER]: secret },
    refuse(list) {
      const values = list.filter(([name]) => name.toLowerCase() === ORIGIN_VERIFY_HEADER);
      const given = Buffer.from(values.length === 1 ? (values[0]?.[1] ?? '') : '');
      const passes = given.length === expected.length && timingSafeEqual(given, expected);
      return passes ? undefined : misdirectedResponse(frontDoorUrl());
    },
  };
}
