import { type Harness, orderBody, startHarness } from '../support/harness.js';

describe('the acceptable-use policy', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness();
  });
  afterAll(() => api.close());

  it('is served as Markdown and says what is prohibited, what happens, what is refunded', async () => {
    const reply = await api.request('GET', '/acceptable-use');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(reply.text).toMatch(/## Prohibited/);
    expect(reply.text).toMatch(/mining/i);
    expect(reply.text).toMatch(/## What happens on a violation/);
    expect(reply.text).toMatch(/## Refunds/);
  });

  it('is linked from /, /llms.txt, openapi.json and every order challenge, at the deployment URL', async () => {
    const policy = `${api.url}/acceptable-use`;
    expect((await api.request('GET', '/')).body.acceptable_use).toBe(policy);
    expect((await api.request('GET', '/llms.txt')).text).toContain(policy);
    // The discovery document's links are relative, as its others (it is kept lean).
    const contract = await api.request('GET', '/openapi.json');
    expect((contract.body.info as { termsOfService: string }).termsOfService).toBe(
      '/acceptable-use',
    );
    const challenge = await api.order(orderBody());
    expect(challenge.status).toBe(402);
    const header = challenge.headers.get('www-authenticate') ?? '';
    expect(header).toContain(`paying accepts the acceptable-use policy ${policy}`);
  });

  it('never takes its links from request headers', async () => {
    const reply = await api.request('GET', '/', {
      headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    });
    expect(reply.body.acceptable_use).toBe(`${api.url}/acceptable-use`);
  });
});

describe("the operator's own acceptable-use text", () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness({ acceptableUsePolicy: '# House rules\n\nNo mining.\n' });
  });
  afterAll(() => api.close());

  it('replaces the built-in one', async () => {
    const reply = await api.request('GET', '/acceptable-use');
    expect(reply.text).toBe('# House rules\n\nNo mining.\n');
  });
});
