import { synthesizeLocalStack } from '../../lambdas/local/synthesized-workflow.js';
import { cachedLocalStack } from '../support/cached-local-stack.js';

/** The harness starts the local storefront on stacks synthesised once per run: the same stacks. */
describe('the synthesised stack shared by the local starts of a test run', () => {
  // The first realm of each configuration synthesises it; a second one is served from the run's copy.
  it.each([
    ['the default configuration', {}, ['127.0.0.1:40001', '127.0.0.1:40002']],
    [
      'a catalog override and unpaid creates',
      {
        'storefront:products': { 'gpu-h100-machine': { centsPerMinute: 20 } },
        'storefront:allowUnpaidMachineCreate': true,
      },
      ['127.0.0.1:40003'],
    ],
  ])(
    'is what synthesizeLocalStack builds, for each realm, with %s',
    async (_name, overrides, realms) => {
      for (const realm of realms) {
        const context = { 'storefront:realm': realm, ...overrides };
        const shared = await cachedLocalStack('a-table', context);
        expect(shared).toEqual(synthesizeLocalStack('a-table', context));
        const served = Object.values(shared.environments.api).map((env) => env.MPP_REALM);
        expect(served).toContain(realm);
      }
    },
  );
});
