import { agentGuide } from '../../lambdas/contract/agent-guide.js';
import { loadOpenApiDocument, operationsOf } from '../../lambdas/contract/openapi-document.js';
import { resolveCatalog } from '../../lambdas/core/catalog.js';

const base = 'https://shop.example.com';

describe('the agent guide (/llms.txt)', () => {
  it('follows the catalog: a changed price is a changed guide', () => {
    const catalog = resolveCatalog({
      'gpu-h100-machine': { baseFeeCents: 500, centsPerMinute: 20, minMinutes: 30 },
    });
    const guide = agentGuide({ baseUrl: base, catalog, methods: ['stripe/charge'] });
    expect(guide).toContain('500¢ + 20¢ per minute, 30–360 minutes ($11.00–$77.00)');
  });

  it('teaches the hand-built test credential only where the test method is offered', () => {
    const catalog = resolveCatalog({});
    const recipe = /Paying with the `test` method without an SDK/;
    expect(agentGuide({ baseUrl: base, catalog, methods: ['test/charge'] })).toMatch(recipe);
    const live = agentGuide({ baseUrl: base, catalog, methods: ['stripe/charge'] });
    expect(live).not.toMatch(recipe);
    expect(live).toContain('Payment methods accepted here: `stripe/charge`.');
  });

  it('lists every operation of the contract, at this deployment’s URL', () => {
    const guide = agentGuide({ baseUrl: base, catalog: resolveCatalog({}), methods: [] });
    for (const { method, path } of operationsOf(loadOpenApiDocument())) {
      expect(guide).toContain(`\`${method.toUpperCase()} ${path}\``);
    }
    expect(guide).toContain(`${base}/openapi.json`);
  });
});
