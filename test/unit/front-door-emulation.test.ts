import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ResponseEdgeFunction } from '../../lambdas/edge/edge-associations.js';
import { misdirectedError, ORIGIN_VERIFY_HEADER } from '../../lambdas/http/front-door-only.js';
import {
  apiGatewayProxyResponse,
  cloudFrontResponse,
  LAMBDA_PROXY_RESPONSE_HEADERS,
  localFrontDoor,
} from '../../lambdas/local/front-door-emulation.js';
import {
  localOriginGuard,
  viewerRequestHeaders,
  withOriginHeaders,
} from '../../lambdas/local/front-door-requests.js';

const fixedNow = () => new Date('2026-01-02T03:04:05Z');
const challenge = 'Payment id="a1", realm="x", method="test", intent="charge"';

describe('API Gateway REST remapping of a Lambda proxy response', () => {
  it('renames, overwrites or drops each header of the documented table', () => {
    const headers = Object.fromEntries(
      Object.keys(LAMBDA_PROXY_RESPONSE_HEADERS).map((name) => [name, `from-lambda-${name}`]),
    );
    const result = apiGatewayProxyResponse({ statusCode: 200, headers, body: '' }, fixedNow);
    const out = result.multiValueHeaders ?? {};
    for (const [name, treatment] of Object.entries(LAMBDA_PROXY_RESPONSE_HEADERS)) {
      const remapped = out[`x-amzn-Remapped-${name}`];
      if (treatment === 'dropped') expect(remapped).toBeUndefined();
      else expect(remapped).toEqual([`from-lambda-${name}`]);
      if (name !== 'Date') expect(out[name]).toBeUndefined();
    }
    expect(out.Date).toEqual(['Fri, 02 Jan 2026 03:04:05 GMT']);
    expect(out['x-amzn-Remapped-WWW-Authenticate']).toEqual(['from-lambda-WWW-Authenticate']);
  });

  it('matches header names case-insensitively and passes every other header through', () => {
    const result = apiGatewayProxyResponse(
      {
        statusCode: 402,
        headers: { 'www-authenticate': challenge, 'content-type': 'application/json' },
        body: '{}',
      },
      fixedNow,
    );
    expect(result.multiValueHeaders).toMatchObject({
      'x-amzn-Remapped-WWW-Authenticate': [challenge],
      'content-type': ['application/json'],
    });
    expect(result.multiValueHeaders).not.toHaveProperty('www-authenticate');
    expect(result.statusCode).toBe(402);
    expect(result.body).toBe('{}');
  });

  it('merges headers and multiValueHeaders, the multi-value ones winning for a name', () => {
    const result = apiGatewayProxyResponse(
      {
        statusCode: 402,
        headers: { 'WWW-Authenticate': 'ignored', 'x-one': '1' },
        multiValueHeaders: { 'WWW-Authenticate': ['first', 'second'] },
        body: '',
      },
      fixedNow,
    );
    expect(result.multiValueHeaders).toMatchObject({
      'x-one': ['1'],
      'x-amzn-Remapped-WWW-Authenticate': ['first', 'second'],
    });
  });
});

describe('CloudFront running the response-path edge functions', () => {
  const calls: string[] = [];
  const marker = (eventType: ResponseEdgeFunction['eventType']): ResponseEdgeFunction => ({
    name: eventType,
    eventType,
    entry: 'unused',
    description: 'test',
    handler: async (event) => {
      calls.push(eventType);
      const response = event.Records[0]?.cf.response;
      if (!response) throw new Error('no response');
      return {
        ...response,
        headers: {
          ...response.headers,
          [`x-${eventType}`]: [{ key: `x-${eventType}`, value: 'ran' }],
        },
      };
    },
  });
  const functions = [marker('viewer-response'), marker('origin-response')];
  const result = (statusCode: number): APIGatewayProxyResult => ({ statusCode, body: '' });

  beforeEach(() => {
    calls.length = 0;
  });

  it('runs origin-response before viewer-response below 400', async () => {
    const out = await cloudFrontResponse(result(202), functions);
    expect(calls).toEqual(['origin-response', 'viewer-response']);
    expect(out.multiValueHeaders).toMatchObject({
      'x-origin-response': ['ran'],
      'x-viewer-response': ['ran'],
    });
  });

  it.each([400, 401, 402, 404, 500])('runs only origin-response on %i', async (status) => {
    const out = await cloudFrontResponse(result(status), functions);
    expect(calls).toEqual(['origin-response']);
    expect(out.multiValueHeaders).not.toHaveProperty('x-viewer-response');
  });
});

describe('the local front door', () => {
  const twoChallenges: APIGatewayProxyResult = {
    statusCode: 402,
    multiValueHeaders: { 'WWW-Authenticate': [challenge, 'Payment id="b2", method="stripe"'] },
    body: '{}',
  };

  it('delivers every challenge in WWW-Authenticate with the deployed edge functions', async () => {
    const out = await localFrontDoor().integrationResponse(twoChallenges);
    expect(out.multiValueHeaders?.['WWW-Authenticate']).toEqual([
      challenge,
      'Payment id="b2", method="stripe"',
    ]);
    expect(JSON.stringify(out.multiValueHeaders).toLowerCase()).not.toContain('remapped');
  });

  it('leaves the challenge renamed without them, as API Gateway alone would', async () => {
    const out = await localFrontDoor({ edgeFunctions: 'none' }).integrationResponse(twoChallenges);
    expect(out.multiValueHeaders).not.toHaveProperty('WWW-Authenticate');
    expect(out.multiValueHeaders?.['x-amzn-Remapped-WWW-Authenticate']).toHaveLength(2);
  });
});

describe('CloudFront on the request path, and the API stage that answers it alone', () => {
  const frontDoorUrl = 'https://d111111abcdef8.cloudfront.net';

  it("runs the deployed viewer-request function: the viewer's Host and address replace what it sent", () => {
    const headers = viewerRequestHeaders(
      [
        ['Host', 'd111111abcdef8.cloudfront.net'],
        ['X-Forwarded-Host', 'attacker.example'],
        ['x-forwarded-host', 'second.example'],
        ['X-Storefront-Viewer-Address', '192.0.2.1'],
        ['CloudFront-Viewer-Address', '192.0.2.1:443'],
        ['Accept', 'application/json'],
      ],
      '198.51.100.7',
    );
    expect(headers).toEqual([
      ['Host', 'd111111abcdef8.cloudfront.net'],
      ['Accept', 'application/json'],
      ['x-forwarded-host', 'd111111abcdef8.cloudfront.net'],
      ['x-storefront-viewer-address', '198.51.100.7'],
    ]);
  });

  it("adds the origin's custom header over any the viewer sent", () => {
    expect(
      withOriginHeaders(
        [
          ['X-Storefront-Origin-Verify', 'guess'],
          ['Accept', '*/*'],
        ],
        { [ORIGIN_VERIFY_HEADER]: 'secret' },
      ),
    ).toEqual([
      ['Accept', '*/*'],
      [ORIGIN_VERIFY_HEADER, 'secret'],
    ]);
  });

  it("lets through exactly the front door's value and refuses anything else with 421", () => {
    const guard = localOriginGuard(() => frontDoorUrl);
    const [[name, secret] = ['', '']] = Object.entries(guard.originHeaders);
    expect(name).toBe(ORIGIN_VERIFY_HEADER);
    expect(secret).toMatch(/^[0-9a-f]{48}$/);
    expect(guard.refuse([[name, secret]])).toBeUndefined();
    expect(guard.refuse([['X-Storefront-Origin-Verify', secret]])).toBeUndefined();
    const refused = [
      [],
      [[name, `${secret}x`]],
      [[name, secret.slice(1)]],
      [
        [name, secret],
        [name, secret],
      ],
    ] as [string, string][][];
    for (const headers of refused) {
      const response = guard.refuse(headers);
      expect(response?.statusCode).toBe(421);
      expect(JSON.parse(response?.body ?? '{}')).toEqual({
        error: misdirectedError(frontDoorUrl),
      });
    }
    expect(localOriginGuard(() => frontDoorUrl).originHeaders[name]).not.toBe(secret);
  });
});
