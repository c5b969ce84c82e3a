import { loadOpenApiDocument, operationsOf } from '../../lambdas/contract/openapi-document.js';
import { type LocalHttpServer, startLocalHttpServer } from '../../lambdas/local/http-server.js';
import { buildRoutes } from '../../lambdas/local/openapi-router.js';

/**
 * `npm start` listens before its functions are built (the stack is synthesised meanwhile): an
 * endpoint of the contract is then "starting" (503, retry), never "no such endpoint" (404).
 */
describe('the local server while its functions are being built', () => {
  let server: LocalHttpServer;
  beforeAll(async () => {
    server = await startLocalHttpServer({
      host: '127.0.0.1',
      port: 0,
      routes: buildRoutes(operationsOf(loadOpenApiDocument())),
      handlers: {},
      rateLimits: false,
    });
  });
  afterAll(() => server.close());

  it('answers an endpoint of the contract with 503 and Retry-After', async () => {
    const response = await fetch(`${server.url}/api/health`);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toEqual({ error: 'the storefront is starting; retry shortly' });
  });

  it('still answers a path the contract does not have with 404', async () => {
    expect((await fetch(`${server.url}/api/nothing-here`)).status).toBe(404);
  });
});
