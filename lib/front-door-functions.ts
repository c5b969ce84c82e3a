/**
 * CloudFront Functions (cloudfront-js-2.0) of the front door. The response path is not
 * here: CloudFront does not run viewer-response functions when the origin answers 400 or
 * higher, so the payment challenge is restored by a Lambda@Edge origin-response function
 * (lambdas/edge/restore-payment-challenge.ts).
 */
import { VIEWER_ADDRESS_HEADER } from '../lambdas/http/front-door-only.js';

/**
 * The viewer-request function: passes on the viewer's address (event.viewer.ip, the address
 * the WAF counts) under a header it sets itself, replacing any value a viewer sent under that
 * name, and drops a viewer's own CloudFront-Viewer-Address (the distribution's origin request
 * policy forwards viewer headers, not CloudFront's). It also passes the public host on as
 * X-Forwarded-Host, which the API no longer reads for any URL.
 *
 * "The viewer object contains an ip field whose value is the IP address of the viewer (client)
 * that sent the request" (CloudFront developer guide, CloudFront Functions event structure).
 */
export const VIEWER_REQUEST = `function handler(event) {
  var request = event.request;
  if (request.headers.host) {
    request.headers['x-forwarded-host'] = { value: request.headers.host.value };
  }
  request.headers['${VIEWER_ADDRESS_HEADER}'] = { value: event.viewer.ip };
  delete request.headers['cloudfront-viewer-address'];
  return request;
}`;
