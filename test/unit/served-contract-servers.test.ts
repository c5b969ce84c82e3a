import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { acceptedMethodsVariable } from '../../lambdas/adapters/payments/accepted-methods.js';
import { testMethod } from '../../lambdas/adapters/payments/test-method.js';
import { handler as getDiscoveryDocument } from '../../lambdas/api/getDiscoveryDocument.js';
import { handler as getServiceIndex } from '../../lambdas/api/getServiceIndex.js';
import { localParameterStore } from '../../lambdas/local/local-parameters.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';

/**
 * The URLs the storefront hands out, through the Lambda entries, given the proxy events API
 * Gateway delivers. The deployment knows its own URL (the stack's public-url parameter); no
 * header of the request changes it.
 */
const PARAMETER = '/Storefront/public-url';
const environment = {
  TABLE_NAME: 'table',
  MPP_REALM: 'storefront.example',
  PAYMENT_METHODS: acceptedMethodsVariable([testMethod.facts]),
  PROVISIONING_TIMEOUT_MINUTES: '15',
  RETENTION_DAYS: '30',
};
const hostile = {
  Host: 'attacker.example',
  'X-Forwarded-Host': 'attacker.example',
  'X-Forwarded-Proto': 'http://attacker.example/steal?',
};
const stage = {
  domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
  stage: 'v1',
} as APIGatewayProxyEvent['requestContext'];

const event = (path: string): APIGatewayProxyEvent =>
  ({
    httpMethod: 'GET',
    path,
    resource: path,
    headers: hostile,
    requestContext: stage,
  }) as unknown as APIGatewayProxyEvent;

async function serviceIndex(publicUrl: string) {
  const handler = getServiceIndex.with({
    env: { ...environment, OPERATION_ID: 'getServiceIndex', PUBLIC_URL_PARAMETER: PARAMETER },
    clients: { log: memoryLogger(), ssm: localParameterStore(new Map([[PARAMETER, publicUrl]])) },
  });
  return handler(event('/'), {} as Context);
}

describe('the URLs the storefront hands out', () => {
  it("are the deployment's public URL, whatever Host and X-Forwarded-* the request carries", async () => {
    const result = await serviceIndex('https://d111111abcdef8.cloudfront.net');
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({
      openapi: 'https://d111111abcdef8.cloudfront.net/openapi.json',
      llms_txt: 'https://d111111abcdef8.cloudfront.net/llms.txt',
    });
    expect(result.body).not.toContain('attacker');
  });

  it("are the operator's domain when that is the deployment's URL (its trailing slash dropped)", async () => {
    const result = await serviceIndex('https://compute.example.com/');
    expect(JSON.parse(result.body).openapi).toBe('https://compute.example.com/openapi.json');
  });

  it('are never served from a parameter holding no bare http(s) origin (503 until mended)', async () => {
    for (const bad of ['not a url', 'ftp://shop.example', 'https://shop.example/path?q']) {
      expect((await serviceIndex(bad)).statusCode).toBe(503);
    }
  });

  it('stay relative in the served openapi.json, as in the repository copy, whatever the headers', async () => {
    const handler = getDiscoveryDocument.with({
      env: { ...environment, OPERATION_ID: 'getDiscoveryDocument' },
      clients: { log: memoryLogger() },
    });
    const result = await handler(event('/openapi.json'), {} as Context);
    const document = JSON.parse(result.body);
    expect(document.servers).toEqual([{ url: '/' }]);
    expect(document['x-service-info'].docs).toEqual({
      homepage: '/',
      apiReference: '/openapi.json',
      llms: '/llms.txt',
    });
  });
});
