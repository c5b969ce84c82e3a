import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { handler as getDiscoveryDocument } from '../../lambdas/api/getDiscoveryDocument.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';

/**
 * Where the served openapi.json says it is served: the Lambda entry of GET /openapi.json,
 * given the proxy events API Gateway delivers on each way in.
 */
const environment = {
  OPERATION_ID: 'getDiscoveryDocument',
  TABLE_NAME: 'table',
  MPP_REALM: 'storefront.example',
  TEST_PAYMENTS: 'enabled',
  PROVISIONING_TIMEOUT_MINUTES: '15',
  RETENTION_DAYS: '30',
};

async function servedDocument(
  event: Partial<APIGatewayProxyEvent>,
  env: Record<string, string> = environment,
) {
  const handler = getDiscoveryDocument.with({ env, clients: { log: memoryLogger() } });
  const result = await handler(
    {
      httpMethod: 'GET',
      path: '/openapi.json',
      resource: '/openapi.json',
      headers: {},
      ...event,
    } as APIGatewayProxyEvent,
    {} as Context,
  );
  expect(result.statusCode).toBe(200);
  return JSON.parse(result.body) as {
    servers: { url: string }[];
    'x-service-info': { docs: Record<string, string> };
  };
}

const stage = {
  domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
  stage: 'v1',
} as APIGatewayProxyEvent['requestContext'];

describe('servers[0].url of the served openapi.json', () => {
  it('names the front door a request came through (the host its viewer-request function forwards)', async () => {
    const document = await servedDocument({
      headers: {
        Host: 'abc123.execute-api.eu-west-1.amazonaws.com',
        'X-Forwarded-Host': 'd111111abcdef8.cloudfront.net',
        'X-Forwarded-Proto': 'https',
      },
      requestContext: stage,
    });
    expect(document.servers).toEqual([{ url: 'https://d111111abcdef8.cloudfront.net' }]);
    expect(document['x-service-info'].docs.apiReference).toBe(
      'https://d111111abcdef8.cloudfront.net/openapi.json',
    );
  });

  it("names the operator's domain when one is configured", async () => {
    const document = await servedDocument(
      { headers: { 'X-Forwarded-Host': 'd111111abcdef8.cloudfront.net' }, requestContext: stage },
      { ...environment, PUBLIC_BASE_URL: 'https://compute.example.com/' },
    );
    expect(document.servers).toEqual([{ url: 'https://compute.example.com' }]);
  });

  it('names the stage, its path included, when API Gateway was called on its own URL', async () => {
    const document = await servedDocument({
      headers: { Host: 'abc123.execute-api.eu-west-1.amazonaws.com' },
      requestContext: stage,
    });
    expect(document.servers).toEqual([
      { url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1' },
    ]);
  });

  it('stays relative, as in the repository copy, when nothing tells where it is served', async () => {
    const document = await servedDocument({ headers: {} });
    expect(document.servers).toEqual([{ url: '/' }]);
    expect(document['x-service-info'].docs).toEqual({
      homepage: '/',
      apiReference: '/openapi.json',
      llms: '/llms.txt',
    });
  });
});
