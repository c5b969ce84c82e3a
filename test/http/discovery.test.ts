import { Receipt } from 'mppx';
import { validate } from 'mppx/discovery';
import { DEFAULT_CATALOG } from '../../lambdas/core/catalog.js';
import { PRODUCT_IDS } from '../../lambdas/core/products.js';
import { type Harness, orderBody, startHarness } from '../support/harness.js';

/** The storefront's clock, set apart from the real one so a response can only show it. */
const STOREFRONT_TIME = new Date(Date.now() + 3 * 86_400_000);
STOREFRONT_TIME.setUTCMilliseconds(0);

/**
 * The auth-params of the first `Payment` challenge for `method` in a WWW-Authenticate value,
 * read the way the guide tells an agent to: quoted strings, unescaped.
 */
function challengeParams(header: string, method: string): Record<string, string> {
  for (const challenge of header.split(/(?:^|,\s*)Payment\s+/).filter(Boolean)) {
    const params: Record<string, string> = {};
    for (const [, name, quoted] of challenge.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      params[name as string] = (quoted as string)
        .replace(/\\u([0-9a-f]{4})/gi, (_all, hex: string) =>
          String.fromCharCode(Number.parseInt(hex, 16)),
        )
        .replace(/\\(.)/g, '$1');
    }
    if (params.method === method) return params;
  }
  throw new Error(`no ${method} challenge in ${header}`);
}

describe('discovery for agents', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness({ clock: { now: () => new Date(STOREFRONT_TIME) } });
  });
  afterAll(() => api.close());

  describe('GET /openapi.json', () => {
    it('serves the contract pointed at this server, valid as an MPP discovery document', async () => {
      const reply = await api.request('GET', '/openapi.json');
      expect(reply.status).toBe(200);
      // Relative: resolved against wherever the agent fetched it (no header decides a URL).
      expect(reply.body.servers).toEqual([{ url: '/' }]);
      expect(reply.body['x-service-info']).toMatchObject({
        docs: { llms: '/llms.txt', apiReference: '/openapi.json' },
      });
      expect(validate(reply.body).filter((problem) => problem.severity === 'error')).toEqual([]);
    });

    it('offers the accepted methods on the paid operations only, with the price formula and terms', async () => {
      const { body } = await api.request('GET', '/openapi.json');
      const paths = body.paths as Record<string, Record<string, Record<string, unknown>>>;
      type Offer = { method: string; amount?: unknown; pricing: Record<string, unknown> };
      const offers = (path: string, method: string) =>
        (paths[path]?.[method]?.['x-payment-info'] as { offers: Offer[] } | undefined)?.offers;
      const order = offers('/api/machine/mpp/orders', 'post');
      expect(order).toEqual([
        expect.objectContaining({ method: 'test', intent: 'charge', currency: 'usd' }),
      ]);
      expect(order?.[0]).not.toHaveProperty('amount');
      expect(order?.[0]?.pricing).toMatchObject({
        formula: expect.stringMatching(/base_fee_cents \+ cents_per_minute × duration_minutes/),
        price_list: `/api/products`,
        products: {
          'bare-linux-machine': {
            base_fee_cents: DEFAULT_CATALOG['bare-linux-machine'].baseFeeCents,
            cents_per_minute: DEFAULT_CATALOG['bare-linux-machine'].centsPerMinute,
          },
        },
      });
      const extension = offers('/api/machines/{machine_id}/extend', 'post');
      expect(extension).toHaveLength(1);
      expect(
        (extension?.[0]?.pricing.products as Record<string, object> | undefined)?.[
          'gpu-h100-machine'
        ],
      ).not.toHaveProperty('base_fee_cents');
      expect(offers('/api/health', 'get')).toBeUndefined();
      expect(offers('/api/machine/mpp/orders/validate', 'post')).toBeUndefined();
    });

    it('names no host in the repository copy of the contract', async () => {
      const { loadOpenApiDocument } = await import('../../lambdas/contract/openapi-document.js');
      const servers = loadOpenApiDocument().servers as { url: string }[];
      expect(servers.every((server) => server.url.startsWith('/'))).toBe(true);
    });
  });

  it('GET / points at the guide, the contract, the price list and health', async () => {
    const reply = await api.request('GET', '/');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      llms_txt: `${api.url}/llms.txt`,
      openapi: `${api.url}/openapi.json`,
      agent_storefront: `${api.url}/.well-known/agent-storefront.json`,
      products: `${api.url}/api/products`,
      health: `${api.url}/api/health`,
    });
  });

  it('GET /api/products lists every product with its price terms, availability and the storefront time', async () => {
    const reply = await api.request('GET', '/api/products');
    expect(reply.status).toBe(200);
    expect(reply.body.server_time).toBe(STOREFRONT_TIME.toISOString());
    const products = reply.body.products as Record<string, unknown>[];
    expect(products.map((product) => product.product_id)).toEqual([...PRODUCT_IDS]);
    const bare = DEFAULT_CATALOG['bare-linux-machine'];
    expect(products[0]).toMatchObject({
      base_fee_cents: bare.baseFeeCents,
      cents_per_minute: bare.centsPerMinute,
      min_minutes: bare.minMinutes,
      max_minutes: bare.maxMinutes,
      availability: { product_id: 'bare-linux-machine', available: true },
    });
    expect(products[1]).toMatchObject({
      availability: { product_id: 'gpu-h100-machine', available: true },
    });
    // The list's terms give the amount a quote states.
    const quote = await api.validate(orderBody({ duration_minutes: 60 }));
    expect((quote.body.quote as { amount_cents: number }).amount_cents).toBe(
      bare.baseFeeCents + 60 * bare.centsPerMinute,
    );
  });

  it('shows the storefront time in health and in a 402 body', async () => {
    expect((await api.health()).body.server_time).toBe(STOREFRONT_TIME.toISOString());
    const unpaid = await api.order(orderBody());
    expect(unpaid.status).toBe(402);
    expect(unpaid.body.server_time).toBe(STOREFRONT_TIME.toISOString());
  });

  it('keeps headers on the storefront clock too: the Date header and the receipt timestamp', async () => {
    const health = await api.health();
    expect(health.headers.get('date')).toBe(STOREFRONT_TIME.toUTCString());
    const paid = await api.payOrder(orderBody());
    expect(paid.status).toBe(202);
    expect(paid.headers.get('date')).toBe(STOREFRONT_TIME.toUTCString());
    const receipt = Receipt.deserialize(paid.headers.get('payment-receipt') ?? '');
    expect(receipt.timestamp).toBe(STOREFRONT_TIME.toISOString());
  });

  describe('GET /llms.txt', () => {
    let guide: string;
    beforeAll(async () => {
      const reply = await api.request('GET', '/llms.txt');
      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-type')).toMatch(/^text\/plain/);
      guide = reply.text ?? '';
    });

    it('prices every product from the catalog', () => {
      for (const id of PRODUCT_IDS) {
        const product = DEFAULT_CATALOG[id];
        expect(guide).toContain(
          `\`${id}\`: ${product.title}. ${product.baseFeeCents}¢ + ${product.centsPerMinute}¢ per minute, ${product.minMinutes}–${product.maxMinutes} minutes`,
        );
      }
    });

    it('walks through quote, order, pay, poll, SSH, extend and terminate', () => {
      for (const step of ['Quote', 'Order', 'Pay', 'Poll', 'SSH', 'Extend', 'Terminate']) {
        expect(guide).toContain(`**${step}**`);
      }
      expect(guide).toContain(`${api.url}/api/machine/mpp/orders/validate`);
      expect(guide).toContain('Payment-Authorization');
    });

    it('lists every operation of the contract and says request_id is a secret', () => {
      for (const line of ['`GET /api/products`', '`DELETE /api/machines/{machine_id}`']) {
        expect(guide).toContain(line);
      }
      expect(guide).toMatch(/request_id.*secret/);
      expect(guide).toMatch(/429.*Retry-After/);
    });

    it('teaches a test credential that pays, built by hand exactly as it says', async () => {
      expect(guide).toContain('{"challenge":{…those parameters…},"payload":{"outcome":"paid"}}');
      const body = orderBody();
      const unpaid = await api.order(body);
      expect(unpaid.status).toBe(402);
      const challenge = challengeParams(unpaid.headers.get('www-authenticate') ?? '', 'test');
      const credential = Buffer.from(
        JSON.stringify({ challenge, payload: { outcome: 'paid' } }),
      ).toString('base64url');
      const paid = await api.order(body, { authorization: `Payment ${credential}` });
      expect(paid.status).toBe(202);
      expect(paid.headers.get('payment-receipt')).toBeTruthy();
      expect(paid.body.order_id).toBe(unpaid.body.order_id);
    });
  });

  it('GET /.well-known/agent-storefront.json describes the storefront from the catalog, at its own URL', async () => {
    const reply = await api.request('GET', '/.well-known/agent-storefront.json');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      name: 'Agentic Compute Storefront',
      service_url: api.url,
      llms_txt_url: `${api.url}/llms.txt`,
      openapi_url: `${api.url}/openapi.json`,
      acceptable_use_url: `${api.url}/acceptable-use`,
      payment: { protocol: 'mpp', methods: ['test/charge'] },
      tokens: { handling: expect.stringContaining('secret') },
    });
    const products = reply.body.products as Record<string, unknown>[];
    expect(products.map((product) => product.product_id)).toEqual([...PRODUCT_IDS]);
    for (const product of products) {
      const terms = DEFAULT_CATALOG[product.product_id as (typeof PRODUCT_IDS)[number]];
      expect(product).toMatchObject({
        base_fee_cents: terms.baseFeeCents,
        cents_per_minute: terms.centsPerMinute,
        min_minutes: terms.minMinutes,
        max_minutes: terms.maxMinutes,
      });
    }
    // Links come from the deployment's URL, never from what the request says.
    const forged = await api.request('GET', '/.well-known/agent-storefront.json', {
      headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' },
    });
    expect(JSON.stringify(forged.body)).not.toContain('evil.example');
  });

  it('pays an extension with a credential built by hand as the guide says, header parameter included', async () => {
    const bought = await api.payOrder(orderBody());
    const machine = bought.body.machine as {
      machine_id: string;
      management: { read_token: string; extend_token: string };
    };
    // A provisioning lease can be extended too (this test's storefront clock stands still).
    const body = { additional_minutes: 15, request_id: crypto.randomUUID() };
    const unpaid = await api.extend(machine.machine_id, machine.management.extend_token, body);
    expect(unpaid.status).toBe(402);
    const challenge = challengeParams(unpaid.headers.get('www-authenticate') ?? '', 'test');
    expect(challenge.header).toBe('Payment-Authorization');
    const credential = Buffer.from(
      JSON.stringify({ challenge, payload: { outcome: 'paid' } }),
    ).toString('base64url');
    const paid = await api.extend(machine.machine_id, machine.management.extend_token, body, {
      'payment-authorization': `Payment ${credential}`,
    });
    expect(paid.status).toBe(200);
    expect(paid.body.seconds_left).toEqual(expect.any(Number));
  });

  it('answers HEAD on the guide and the price list', async () => {
    for (const path of ['/llms.txt', '/api/products', '/']) {
      const head = await fetch(`${api.url}${path}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
    }
  });
});
