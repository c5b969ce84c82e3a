import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CloudFrontResponse, CloudFrontResponseEvent } from 'aws-lambda';
import {
  RESPONSE_EDGE_FUNCTIONS,
  type ResponseEdgeFunction,
} from '../../lambdas/edge/edge-associations.js';
import { handler as restoreChallenge } from '../../lambdas/edge/restore-payment-challenge.js';
import { bundleEdgeFunction } from '../../lib/edge-function-code.js';
import { VIEWER_REQUEST } from '../../lib/front-door-functions.js';

/** Runs a CloudFront Function's source the way the edge runtime calls it: handler(event). */
const compile = (source: string) =>
  new Function(`${source}; return handler;`)() as (event: unknown) => unknown;

/** An origin-response event as Lambda@Edge receives it (headers keyed in lower case). */
const originResponse = (status: number, headers: CloudFrontResponse['headers']) =>
  ({
    Records: [
      {
        cf: {
          config: {
            distributionDomainName: 'd111111abcdef8.cloudfront.net',
            distributionId: 'EDFDVBD6EXAMPLE',
            eventType: 'origin-response',
            requestId: 'r',
          },
          request: {
            clientIp: '203.0.113.1',
            headers: {},
            method: 'POST',
            querystring: '',
            uri: '/',
          },
          response: { status: String(status), statusDescription: 'Payment Required', headers },
        },
      },
    ],
  }) as CloudFrontResponseEvent;

const testChallenge = 'Payment id="a1", realm="x", method="test", intent="charge", request="e30"';
const stripeChallenge =
  'Payment id="b2", realm="x", method="stripe", intent="charge", request="e30"';

describe('the origin-response function that restores the payment challenge', () => {
  it('moves every remapped challenge value, in order, back into WWW-Authenticate', async () => {
    const response = await restoreChallenge(
      originResponse(402, {
        'content-type': [{ key: 'Content-Type', value: 'application/json' }],
        'x-amzn-remapped-www-authenticate': [
          { key: 'x-amzn-Remapped-WWW-Authenticate', value: testChallenge },
          { key: 'x-amzn-Remapped-WWW-Authenticate', value: stripeChallenge },
        ],
      }),
    );
    expect(response.status).toBe('402');
    expect(response.headers['www-authenticate']).toEqual([
      { key: 'WWW-Authenticate', value: testChallenge },
      { key: 'WWW-Authenticate', value: stripeChallenge },
    ]);
    expect(response.headers).not.toHaveProperty('x-amzn-remapped-www-authenticate');
    expect(response.headers['content-type']).toEqual([
      { key: 'Content-Type', value: 'application/json' },
    ]);
  });

  it('keeps one value holding several challenges intact', async () => {
    const both = `${testChallenge}, ${stripeChallenge}`;
    const response = await restoreChallenge(
      originResponse(402, { 'x-amzn-remapped-www-authenticate': [{ value: both }] }),
    );
    expect(response.headers['www-authenticate']).toEqual([
      { key: 'WWW-Authenticate', value: both },
    ]);
  });

  it('restores a bearer challenge on a 401 too', async () => {
    const response = await restoreChallenge(
      originResponse(401, {
        'x-amzn-remapped-www-authenticate': [{ value: 'Bearer realm="machines"' }],
      }),
    );
    expect(response.headers['www-authenticate']).toEqual([
      { key: 'WWW-Authenticate', value: 'Bearer realm="machines"' },
    ]);
  });

  it('leaves responses without a renamed challenge as they are', async () => {
    const headers = { 'content-type': [{ key: 'Content-Type', value: 'application/json' }] };
    const event = originResponse(200, headers);
    expect(await restoreChallenge(event)).toBe(event.Records[0]?.cf.response);
  });
});

describe('the deployed bundle of each response edge function', () => {
  it.each(RESPONSE_EDGE_FUNCTIONS.map((edge) => [edge.name, edge] as const))(
    '%s loads as an ES module and answers the event like its source',
    async (_name, edge) => {
      const outfile = bundleEdgeFunction(edge.entry, mkdtempSync(join(tmpdir(), 'edge-bundle-')));
      const bundled = (await import(pathToFileURL(outfile).href)) as {
        handler: ResponseEdgeFunction['handler'];
      };
      const event = () =>
        originResponse(402, {
          'x-amzn-remapped-www-authenticate': [
            { value: testChallenge },
            { value: stripeChallenge },
          ],
        });
      expect(await bundled.handler(event())).toEqual(await edge.handler(event()));
    },
  );
});

describe('the viewer-request CloudFront Function', () => {
  it('passes the public host on, and the viewer address in place of whatever the viewer sent', () => {
    const forward = compile(VIEWER_REQUEST);
    const request = forward({
      request: {
        headers: {
          host: { value: 'compute.example.com' },
          'x-storefront-viewer-address': { value: '192.0.2.1' },
          'cloudfront-viewer-address': { value: '192.0.2.1:443' },
        },
      },
      viewer: { ip: '198.51.100.7' },
    }) as {
      headers: Record<string, { value: string }>;
    };
    expect(request.headers['x-forwarded-host']).toEqual({ value: 'compute.example.com' });
    expect(request.headers['x-storefront-viewer-address']).toEqual({ value: '198.51.100.7' });
    expect(request.headers).not.toHaveProperty('cloudfront-viewer-address');
  });
});
