/**
 * The API answers only requests that came through its front door, one definition for the
 * two places that enforce it: the regional AWS WAF web ACL on the API stage (lib/origin-guard.ts)
 * and the local server (lambdas/local/http-server.ts).
 *
 * The CloudFront distribution adds ORIGIN_VERIFY_HEADER with a generated secret to every
 * request it sends to the API ("By configuring your origin to respond to requests only when
 * they include a custom header that is added by CloudFront, you prevent users from bypassing
 * CloudFront and accessing your content directly on the origin"; a viewer's header of the same
 * name is overwritten, CloudFront developer guide, "Add custom headers to origin requests").
 * A request to the execute-api URL lacks it, so it would bypass the front door's per-client
 * limits and get the renamed payment challenge; it is refused before API Gateway routes it.
 */
export const ORIGIN_VERIFY_HEADER = 'x-storefront-origin-verify';

/**
 * 421 Misdirected Request: "the request was directed at a server that is unable or unwilling
 * to produce an authoritative response for the target URI" (RFC 9110, 15.5.20). The execute-api
 * host is not where the storefront answers; the front door is. A 403 would read as a refused
 * capability, which agents here act on otherwise. AWS WAF supports 421 in custom responses.
 */
export const MISDIRECTED_STATUS = 421;

/** The error, naming the front door (WAF custom responses are static: no request path). */
export function misdirectedError(frontDoorUrl: string): string {
  return `Call the storefront through its front door: ${frontDoorUrl}/ (this address is its origin and answers the front door only; the API description is ${frontDoorUrl}/openapi.json)`;
}

/** The response a request that bypassed the front door gets, as the local server sends it. */
export function misdirectedResponse(frontDoorUrl: string) {
  return {
    statusCode: MISDIRECTED_STATUS,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify({ error: misdirectedError(frontDoorUrl) }),
  };
}

/**
 * The viewer's address as the front door's WAF counts it, set by the viewer-request function
 * (lib/front-door-functions.ts) from event.viewer.ip, replacing any value a viewer sends.
 */
export const VIEWER_ADDRESS_HEADER = 'x-storefront-viewer-address';
