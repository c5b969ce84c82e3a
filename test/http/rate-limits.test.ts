import { request as httpRequest } from 'node:http';
import { rateLimiter } from '../../lambdas/local/rate-limiter.js';
import { type Harness, startHarness } from '../support/harness.js';

/** A GET from a chosen local source address: another client, as WAF's IP aggregation sees one. */
function getFrom(
  url: string,
  localAddress: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; retryAfter?: string; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const call = httpRequest(url, { localAddress, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        text += chunk;
      });
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          ...(response.headers['retry-after']
            ? { retryAfter: String(response.headers['retry-after']) }
            : {}),
          body: JSON.parse(text) as Record<string, unknown>,
        }),
      );
    });
    call.on('error', reject);
    call.end();
  });
}

describe('per-client limits on the local front door (the WAF rules of cdk.json)', () => {
  let api: Harness;
  beforeAll(async () => {
    // The defaults of cdk.json: 30 writes and 120 reads per minute per client.
    api = await startHarness({ rateLimits: { writesPerMinute: 30, readsPerMinute: 120 } });
  });
  afterAll(() => api.close());

  it('answers the 121st read of a minute from one client with 429, Retry-After and {error}; another client is unaffected', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 130; i++) {
      statuses.push((await getFrom(`${api.url}/api/health`, '127.0.0.1')).status);
    }
    expect(statuses.slice(0, 120).every((status) => status === 200)).toBe(true);
    expect(statuses.slice(120)).toEqual(Array(10).fill(429));

    const refused = await getFrom(`${api.url}/api/health`, '127.0.0.1');
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('60');
    expect(refused.body.error).toMatch(/at most 120 reads/);

    // A forged X-Forwarded-For does not make another client: WAF counts the source address.
    const forged = await getFrom(`${api.url}/api/health`, '127.0.0.1', {
      'x-forwarded-for': '198.51.100.7',
    });
    expect(forged.status).toBe(429);

    const other = await getFrom(`${api.url}/api/health`, '127.0.0.2');
    expect(other.status).toBe(200);
  });

  it('keeps writes on their own budget', async () => {
    // 127.0.0.1 has spent its reads above; its writes are untouched.
    const write = await api.validate({});
    expect(write.status).toBe(400);
  });
});

describe('the rate limiter', () => {
  it('counts per client and budget over a trailing minute', () => {
    let now = 0;
    const limiter = rateLimiter({ writesPerMinute: 10, readsPerMinute: 20 }, () => now);
    const admitted = (client: string, method: string, times: number) =>
      Array.from({ length: times }, () => limiter.admit(client, method).allowed).filter(Boolean)
        .length;
    expect(admitted('203.0.113.1', 'POST', 15)).toBe(10);
    expect(admitted('203.0.113.1', 'DELETE', 1)).toBe(0);
    expect(admitted('203.0.113.1', 'GET', 25)).toBe(20);
    expect(admitted('203.0.113.2', 'POST', 1)).toBe(1);
    expect(admitted('::ffff:203.0.113.1', 'HEAD', 1)).toBe(0);
    now += 59_000;
    expect(admitted('203.0.113.1', 'GET', 1)).toBe(0);
    now += 2_000;
    // The first 20 reads have left the window; the refused read at 59 s still counts, as in WAF.
    expect(admitted('203.0.113.1', 'GET', 20)).toBe(19);
    now += 60_000;
    expect(admitted('203.0.113.1', 'GET', 20)).toBe(20);
  });
});
