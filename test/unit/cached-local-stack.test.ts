import { synthesizeLocalStack } from '../../lambdas/local/synthesized-workflow.js';
import { cachedLocalStack } from '../support/cached-local-stack.js';

/** The harness starts the local storefront on stacks synthesised once per run: the same stacks. */
describe('the synthesised stack shared by the local starts of a test run', () => {
  it.each([
    ['the default configuration', {}],
    [
      'a catalog override and unpaid creates',
      {
        'storefront:products': { 'gpu-h100-machine': { centsPerMinute: 20 } },
        'storefront:allowUnpaidMachineCreate': true,
      },
    ],
  ])('is what synthesizeLocalStack builds, for each realm, with %s', async (_name, overrides) => {
    for (const realm of ['127.0.0.1:40001', '127.0.0.1:40002']) {
      const context = { 'storefront:realm': realm, ...overrides };
      const shared = await cachedLocalStack('a-table', context);
      expect(shared).toEqual(synthesizeLocalStack('a-table', context));
      expect(shared.environments.api.health?.MPP_REALM ?? realm).toBe(realm);
    }
  });
});
