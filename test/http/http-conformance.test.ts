import { connect } from 'node:net';
import { type Harness, startHarness } from '../support/harness.js';

/** Sends raw bytes and returns the raw answer: for requests fetch would refuse to send. */
function rawExchange(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

const bodyOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));

describe('HTTP conformance of the front door', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness();
  });
  afterAll(() => api.close());

  it.each([
    ['PUT', '/api/health', 'GET, HEAD'],
    ['DELETE', '/api/machine/mpp/orders', 'POST'],
    ['GET', '/api/machine/mpp/orders/validate', 'POST'],
    ['PATCH', '/api/machines/machine_0123456789abcdef', 'GET, DELETE, HEAD'],
    ['POST', '/openapi.json', 'GET, HEAD'],
  ])('answers %s %s with 405, Allow and a JSON error', async (method, path, allow) => {
    const reply = await api.request(method, path);
    expect(reply.status).toBe(405);
    expect(reply.headers.get('allow')).toBe(allow);
    expect(reply.body.error).toMatch(new RegExp(`method ${method} is not allowed`));
  });

  it('answers HEAD on a GET route like GET, without a body', async () => {
    const get = await fetch(`${api.url}/api/health`);
    const head = await fetch(`${api.url}/api/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
    expect(await head.text()).toBe('');
  });

  it('answers HEAD on an unknown path with 404', async () => {
    expect((await fetch(`${api.url}/api/nothing`, { method: 'HEAD' })).status).toBe(404);
  });

  it('answers over-long headers with a JSON 431 instead of an empty one', async () => {
    const raw = await rawExchange(
      api.url,
      `GET /api/health HTTP/1.1\r\nHost: local\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 431 /);
    expect(raw).toMatch(/content-type: application\/json/i);
    expect(bodyOf(raw).error).toMatch(/headers are too large/);
  });

  it('answers a request it cannot parse with a JSON 400', async () => {
    const raw = await rawExchange(api.url, 'NOT HTTP AT ALL\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(raw).error).toMatch(/malformed HTTP request/);
  });
});
