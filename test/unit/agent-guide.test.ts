import { agentGuide } from '../../lambdas/contract/agent-guide.js';
import { loadOpenApiDocument, operationsOf } from '../../lambdas/contract/openapi-document.js';
import { resolveCatalog } from '../../lambdas/core/catalog.js';

const base = 'https://shop.example.com';
const switches = { allowUnpaidCreate: false, refundUnusedMinutes: true };

describe('the agent guide (/llms.txt)', () => {
  it('follows the catalog: a changed price is a changed guide', () => {
    const catalog = resolveCatalog({
      'gpu-h100-machine': { baseFeeCents: 500, centsPerMinute: 20, minMinutes: 30 },
    });
    const guide = agentGuide({ baseUrl: base, catalog, methods: ['stripe/charge'], ...switches });
    expect(guide).toContain('500¢ + 20¢ per minute, 30–360 minutes ($11.00–$77.00)');
  });

  it('teaches the hand-built test credential only where the test method is offered', () => {
    const catalog = resolveCatalog({});
    const recipe = /Paying with the `test` method without an SDK/;
    expect(agentGuide({ baseUrl: base, catalog, methods: ['test/charge'], ...switches })).toMatch(
      recipe,
    );
    const live = agentGuide({ baseUrl: base, catalog, methods: ['stripe/charge'], ...switches });
    expect(live).not.toMatch(recipe);
    expect(live).toContain('Payment methods accepted here: `stripe/charge`.');
  });

  it('lists every operation of the contract, at this deployment’s URL', () => {
    const guide = agentGuide({
      baseUrl: base,
      catalog: resolveCatalog({}),
      methods: [],
      ...switches,
    });
    for (const { method, path } of operationsOf(loadOpenApiDocument())) {
      expect(guide).toContain(`\`${method.toUpperCase()} ${path}\``);
    }
    expect(guide).toContain(`${base}/openapi.json`);
  });

  it('says POST /api/machines is off (403) unless the operator allows it', () => {
    const catalog = resolveCatalog({});
    const off = agentGuide({ baseUrl: base, catalog, methods: [], ...switches });
    expect(off).toMatch(/`POST \/api\/machines`: .*Off on this deployment: it answers 403/);
    const on = agentGuide({
      baseUrl: base,
      catalog,
      methods: [],
      ...switches,
      allowUnpaidCreate: true,
    });
    expect(on).toMatch(/`POST \/api\/machines`: .*Enabled on this deployment/);
  });

  it('names every challenge parameter to echo, header included, and the refund of unused minutes', () => {
    const catalog = resolveCatalog({});
    const guide = agentGuide({ baseUrl: base, catalog, methods: ['test/charge'], ...switches });
    for (const parameter of [
      'id',
      'realm',
      'method',
      'intent',
      'request',
      'description',
      'expires',
      'opaque',
      'header',
    ]) {
      expect(guide).toContain(`\`${parameter}\``);
    }
    expect(guide).toContain('`header="Payment-Authorization"`');
    expect(guide).toContain('refunds the unused whole minutes');
    expect(guide).toContain('`refund: {amount_cents, status}`');
    const keeps = agentGuide({
      baseUrl: base,
      catalog,
      methods: [],
      ...switches,
      refundUnusedMinutes: false,
    });
    expect(keeps).toContain('Unused minutes are not refunded on this deployment');
  });
});
