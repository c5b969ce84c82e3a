import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { Storefront } from '../../lambdas/core/use-cases/storefront.js';
import { apiRoute } from '../../lambdas/http/api-handler.js';
import { json } from '../../lambdas/http/responses.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';

/**
 * On AWS a handler gets the proxy event as JSON.parse makes it: a header or query key
 * named `__proto__` or `constructor` is an own property like any other. The shared HTTP
 * layer reads such events without tripping on Object.prototype, and a request that Fetch
 * cannot represent is the agent's 400, never a 500 (issue 20). Forwarding headers decide no
 * URL: the Request handed to mppx has a fixed origin (its realm is configured).
 */

const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

function awsEvent(extraHeaders: Record<string, string> = {}): APIGatewayProxyEvent {
  const names = Object.fromEntries(PROTOTYPE_NAMES.map((name) => [name, `${name}-value`]));
  const headers = { Host: 'api.example', ...names, ...extraHeaders };
  // Built as JSON text and parsed, as the Lambda runtime hands the event over.
  return JSON.parse(
    JSON.stringify({
      resource: '/api/things',
      path: '/api/things',
      httpMethod: 'POST',
      headers,
      multiValueHeaders: Object.fromEntries(
        Object.entries(headers).map(([name, value]) => [name, [value]]),
      ),
      queryStringParameters: names,
      multiValueQueryStringParameters: Object.fromEntries(
        Object.entries(names).map(([name, value]) => [name, [value]]),
      ),
      pathParameters: null,
      stageVariables: null,
      body: null,
      isBase64Encoded: false,
      requestContext: { requestId: 'r-1', domainName: 'api.example', stage: 'prod' },
    }),
  ) as APIGatewayProxyEvent;
}

const storefront = {
  log: memoryLogger(),
  settings: { publicBaseUrl: 'https://shop.example' },
} as unknown as Storefront;

const handler = apiRoute({ operationId: 'probe' }, async ({ header, fetchRequest }) => {
  const request = fetchRequest();
  return json(200, {
    headers: Object.fromEntries(PROTOTYPE_NAMES.map((name) => [name, header(name) ?? null])),
    fetchHeaders: Object.fromEntries(
      PROTOTYPE_NAMES.map((name) => [name, request.headers.get(name)]),
    ),
    query: Object.fromEntries(new URL(request.url).searchParams),
    origin: new URL(request.url).origin,
  });
})(storefront);

const call = async (event: APIGatewayProxyEvent) => {
  const result = await handler(event, { awsRequestId: 'r-1' } as Context);
  return { status: result.statusCode, body: JSON.parse(result.body) };
};

describe('proxy events with prototype-named keys (the shape Lambda receives)', () => {
  it('keeps __proto__ and friends as own keys of the parsed event', () => {
    const event = awsEvent();
    for (const name of PROTOTYPE_NAMES) {
      expect(Object.hasOwn(event.headers, name)).toBe(true);
      expect(Object.hasOwn(event.queryStringParameters ?? {}, name)).toBe(true);
    }
  });

  it('reads each such header and query key as the value sent', async () => {
    const { status, body } = await call(awsEvent());
    expect(status).toBe(200);
    const expected = Object.fromEntries(PROTOTYPE_NAMES.map((name) => [name, `${name}-value`]));
    expect(body.headers).toEqual(expected);
    expect(body.fetchHeaders).toEqual(expected);
    expect(body.query).toEqual(expected);
  });

  it.each([['a b'], ['https:'], [''], ['http://user@agent.example/x?']])(
    "ignores X-Forwarded-Proto %j: the request mppx sees has a fixed origin, not the headers'",
    async (proto) => {
      const { status, body } = await call(
        awsEvent({ 'x-forwarded-proto': proto, 'x-forwarded-host': 'attacker.example' }),
      );
      expect(status).toBe(200);
      expect(body.origin).toBe('https://storefront.invalid');
    },
  );

  it('answers 400, not 500, for a header value Fetch cannot carry', async () => {
    const { status, body } = await call(awsEvent({ 'x-note': 'a\u2028b' }));
    expect(status).toBe(400);
    expect(body.error).toMatch(/not valid HTTP/);
  });
});
