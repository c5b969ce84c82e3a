/**
 * CloudFront Functions (cloudfront-js-2.0) of the front door.
 *
 * API Gateway REST APIs rename a WWW-Authenticate header returned by a Lambda proxy
 * integration to x-amzn-Remapped-WWW-Authenticate. MPP clients read the payment challenge
 * from WWW-Authenticate, so the front door restores it on the way out.
 */
export const RESTORE_PAYMENT_CHALLENGE = `function handler(event) {
  var headers = event.response.headers;
  var remapped = headers['x-amzn-remapped-www-authenticate'];
  if (remapped && !headers['www-authenticate']) {
    headers['www-authenticate'] = { value: remapped.value };
    delete headers['x-amzn-remapped-www-authenticate'];
  }
  return event.response;
}`;

/** Passes the public host on, so links in responses (order_complete_url) name the front door. */
export const FORWARD_PUBLIC_HOST = `function handler(event) {
  var request = event.request;
  if (request.headers.host) {
    request.headers['x-forwarded-host'] = { value: request.headers.host.value };
  }
  return request;
}`;
