import { loadOpenApiDocument, operationsOf } from '../../lambdas/contract/openapi-document.js';
import { DEFAULT_CATALOG } from '../../lambdas/core/catalog.js';
import {
  parseCreateMachineRequest,
  parseExtendMachineRequest,
} from '../../lambdas/core/requests.js';
import {
  gatewayRequestValidation,
  lexicalNumbers,
} from '../../lambdas/local/gateway-request-validation.js';
import { type LocalHttpServer, startLocalHttpServer } from '../../lambdas/local/http-server.js';
import { buildRoutes } from '../../lambdas/local/openapi-router.js';
import { GATEWAY_RESPONSES } from '../../lib/api-gateway-document.js';
import { type Harness, orderBody, startHarness } from '../support/harness.js';

/**
 * The local front door applies API Gateway's request validators (JSON Schema draft 4, from the
 * document `cdk deploy` imports) before any handler runs. Where draft 4 and the handlers' zod
 * checks disagree, these bodies show both sides going through the local server, answered as
 * API Gateway would answer them.
 */
const BAD_REQUEST_BODY = JSON.parse(GATEWAY_RESPONSES.BAD_REQUEST_BODY?.body ?? '{}') as {
  error: string;
};

/** An order body written by hand, so that numbers keep the form they are sent in. */
const orderText = (duration: string, extra = '') => {
  const body = orderBody();
  return `{"request_id":"${body.request_id}","product_id":"${body.product_id}","duration_minutes":${duration},"ssh_public_key":${JSON.stringify(body.ssh_public_key)}${extra}}`;
};

describe("API Gateway's request validators at the local front door", () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness();
  });
  afterAll(() => api.close());

  const expectGatewayRefusal = (reply: Awaited<ReturnType<Harness['request']>>) => {
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual(BAD_REQUEST_BODY);
    expect(reply.headers.get('cache-control')).toBe('no-store');
  };

  describe('draft 4 integer: a number written with a fraction or exponent is not one', () => {
    it.each(['60.0', '6e1', '6.0E1'])(
      'zod accepts duration_minutes %s; the gateway refuses the order before the handler runs',
      async (duration) => {
        const text = orderText(duration);
        expect(parseCreateMachineRequest(JSON.parse(text), DEFAULT_CATALOG).duration_minutes).toBe(
          60,
        );
        // The quote's body is left to its handler (BODY_CHECKED_BY_HANDLER): zod's answer.
        expect(
          (await api.request('POST', '/api/machine/mpp/orders/validate', { body: text })).status,
        ).toBe(200);
        const before = await api.itemCount();
        expectGatewayRefusal(await api.request('POST', '/api/machine/mpp/orders', { body: text }));
        expect(await api.itemCount()).toBe(before);
      },
    );

    it('the same order written 60 passes both and meets the payment challenge', async () => {
      const reply = await api.request('POST', '/api/machine/mpp/orders', { body: orderText('60') });
      expect(reply.status).toBe(402);
    });

    it('an extension of 5.0 minutes is refused by the gateway; 5 reaches the handler', async () => {
      expect(parseExtendMachineRequest({ additional_minutes: 5.0 }).additional_minutes).toBe(5);
      const created = await api.payOrder(orderBody());
      const machine = created.body.machine as {
        machine_id: string;
        management: Record<string, string>;
      };
      const extend = (body: string) =>
        api.request('POST', `/api/machines/${machine.machine_id}/extend`, {
          body,
          headers: { authorization: `Bearer ${machine.management.extend_token}` },
        });
      expectGatewayRefusal(await extend('{"additional_minutes":5.0}'));
      expect((await extend('{"additional_minutes":5}')).status).toBe(402);
    });

    it('finds numbers by the form they are written in, at the paths ajv reports', () => {
      expect([...lexicalNumbers('{"a":[1,2.0,{"b/~":3e2}],"c":-4,"d":"5.0"}')]).toEqual([
        ['/a/0', true],
        ['/a/1', false],
        ['/a/2/b~1~0', false],
        ['/c', true],
      ]);
      // A key given twice keeps its last value, as JSON.parse does.
      expect([...lexicalNumbers('{"a":[1,2.0,{"b/~":3e2}],"c":-4,"d":"5.0","a":7}')]).toEqual([
        ['/c', true],
        ['/a', true],
      ]);
    });
  });

  describe('unknown fields (additionalProperties: false)', () => {
    it("both refuse them, with the gateway's answer on orders and zod's on the quote", async () => {
      const text = orderText('60', ',"price":0');
      expectGatewayRefusal(await api.request('POST', '/api/machine/mpp/orders', { body: text }));
      const quote = await api.request('POST', '/api/machine/mpp/orders/validate', { body: text });
      expect(quote.status).toBe(400);
      expect(quote.body.error).toMatch(/unknown field "price"/);
    });
  });

  describe('what the schema leaves to the handler: the gateway passes it, zod refuses it', () => {
    it.each([
      [
        'a guessable request_id',
        { request_id: '00000000-0000-0000-0000-000000000000' },
        /random UUID/,
      ],
      ['a key that is not an SSH key', { ssh_public_key: 'hello' }, /ssh_public_key/],
    ])('%s reaches the handler and gets its message', async (_label, overrides, message) => {
      const reply = await api.order(orderBody(overrides));
      expect(reply.status).toBe(400);
      expect(reply.body.error).not.toBe(BAD_REQUEST_BODY.error);
      expect(reply.body.error).toMatch(message);
    });

    it('format uuid is not checked: a UUID of no RFC 4122 version passes the pattern and both', async () => {
      const requestId = '3f0c1a52-8d4e-0b1a-1c57-2b8e6f1d0a93';
      expect((await api.order(orderBody({ request_id: requestId }))).status).toBe(402);
    });
  });

  describe('what the schema refuses whatever the handler would say', () => {
    it.each([
      ['a duration above the contract maximum', orderText('400')],
      ['a duration as a string', orderText('"60"')],
      ['an empty body (validated as {})', ''],
      ['invalid JSON', '{"request_id":'],
    ])('%s gets the gateway answer', async (_label, body) => {
      expectGatewayRefusal(await api.request('POST', '/api/machine/mpp/orders', { body }));
    });
  });

  describe('content types', () => {
    it('a body sent as text/plain matches no model and is not validated: the handler decides', async () => {
      // "If no matching content type is found, request validation is not performed."
      const reply = await api.request('POST', '/api/machine/mpp/orders', {
        body: orderText('60.0'),
        headers: { 'content-type': 'text/plain' },
      });
      expect(reply.status).toBe(402);
    });

    it('a body without Content-Type is validated as application/json', async () => {
      const response = await fetch(`${api.url}/api/machine/mpp/orders`, {
        method: 'POST',
        body: new Blob([orderText('60.0')]),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual(BAD_REQUEST_BODY);
    });

    it('a charset parameter does not change the model', async () => {
      const reply = await api.request('POST', '/api/machine/mpp/orders', {
        body: orderText('60.0'),
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
      expectGatewayRefusal(reply);
    });
  });
});

describe('required request parameters', () => {
  // The contract has no required query string or header parameter today; a local server for a
  // copy with one shows the answer the mapped BAD_REQUEST_PARAMETERS response gives.
  const contract = loadOpenApiDocument();
  const getOrder = contract.paths['/api/machine/mpp/orders/{order_id}']?.get as {
    parameters: unknown[];
  };
  getOrder.parameters.push(
    { name: 'X-Trace', in: 'header', required: true, schema: { type: 'string' } },
    { name: 'view', in: 'query', required: true, schema: { type: 'integer' } },
  );
  let server: LocalHttpServer;
  let calls = 0;
  beforeAll(async () => {
    server = await startLocalHttpServer({
      host: '127.0.0.1',
      port: 0,
      routes: buildRoutes(operationsOf(contract)),
      handlers: {
        getOrder: async () => {
          calls += 1;
          return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
        },
      },
      requestValidation: gatewayRequestValidation(contract),
      rateLimits: false,
    });
  });
  afterAll(() => server.close());

  it('missing or blank ones are named in a 400 before the function runs', async () => {
    const response = await fetch(`${server.url}/api/machine/mpp/orders/order_1`, {
      headers: { 'x-trace': ' ' },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({
      error: 'Missing required request parameters: [X-Trace, view]',
    });
    expect(calls).toBe(0);
  });

  it('only their presence is checked, not their type', async () => {
    // "API Gateway only checks the existence of a parameter and doesn't check the type or format."
    const response = await fetch(`${server.url}/api/machine/mpp/orders/order_1?view=not-a-number`, {
      headers: { 'X-TRACE': 'abc' },
    });
    expect(response.status).toBe(200);
    expect(calls).toBe(1);
  });
});
