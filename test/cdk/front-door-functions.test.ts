import { FORWARD_PUBLIC_HOST, RESTORE_PAYMENT_CHALLENGE } from '../../lib/front-door-functions.js';

/** Runs a CloudFront Function's source the way the edge runtime calls it: handler(event). */
const compile = (source: string) =>
  new Function(`${source}; return handler;`)() as (event: unknown) => unknown;

describe('front door functions', () => {
  const restore = compile(RESTORE_PAYMENT_CHALLENGE);
  const forward = compile(FORWARD_PUBLIC_HOST);

  it('puts the payment challenge API Gateway renamed back into WWW-Authenticate', () => {
    const challenge = 'Payment id="abc", realm="x", method="test", intent="charge"';
    const response = restore({
      response: {
        statusCode: 402,
        headers: { 'x-amzn-remapped-www-authenticate': { value: challenge } },
      },
    }) as { headers: Record<string, { value: string }> };
    expect(response.headers['www-authenticate']).toEqual({ value: challenge });
    expect(response.headers).not.toHaveProperty('x-amzn-remapped-www-authenticate');
  });

  it('leaves responses without a renamed challenge alone', () => {
    const headers = { 'content-type': { value: 'application/json' } };
    expect(restore({ response: { statusCode: 200, headers } })).toEqual({
      statusCode: 200,
      headers,
    });
  });

  it('passes the public host on as X-Forwarded-Host', () => {
    const request = forward({
      request: { headers: { host: { value: 'compute.example.com' } } },
    }) as {
      headers: Record<string, { value: string }>;
    };
    expect(request.headers['x-forwarded-host']).toEqual({ value: 'compute.example.com' });
  });
});
