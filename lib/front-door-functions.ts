/**
 * CloudFront Functions (cloudfront-js-2.0) of the front door. The response path is not
 * here: CloudFront does not run viewer-response functions when the origin answers 400 or
 * higher, so the payment challenge is restored by a Lambda@Edge origin-response function
 * (lambdas/edge/restore-payment-challenge.ts).
 */

/** Passes the public host on, so links in responses (order_complete_url) name the front door. */
export const FORWARD_PUBLIC_HOST = `function handler(event) {
  var request = event.request;
  if (request.headers.host) {
    request.headers['x-forwarded-host'] = { value: request.headers.host.value };
  }
  return request;
}`;
