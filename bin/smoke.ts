/**
 * npm run smoke -- <ApiUrl> [--stripe-spt <token>]: plays an agent's whole journey against a
 * deployed stage and prints each step; exits non-zero at the first step that fails. It pays
 * with the `test` method (deploy the stage with `-c storefront:testPayments=true`), or with a
 * Stripe test-mode Shared Payment Token. It leases one bare Linux machine for 15 minutes (plus
 * a paid 15-minute extension) and terminates it.
 */
import { parseArgs } from 'node:util';
import { runSmokeJourney } from '../lambdas/operator/smoke-journey.js';
import { throwawayEd25519Key } from '../lambdas/operator/throwaway-ssh-key.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'stripe-spt': { type: 'string' },
    'timeout-minutes': { type: 'string', default: '20' },
  },
});
const [apiUrl] = positionals;
if (!apiUrl || !/^https?:\/\//.test(apiUrl)) {
  console.error('usage: npm run smoke -- <ApiUrl> [--stripe-spt spt_…] [--timeout-minutes 20]');
  process.exit(2);
}
const sharedPaymentToken = values['stripe-spt'];
const result = await runSmokeJourney({
  baseUrl: apiUrl,
  payment: sharedPaymentToken ? { method: 'stripe', sharedPaymentToken } : { method: 'test' },
  sshPublicKey: throwawayEd25519Key('storefront-smoke'),
  timeoutMs: Number(values['timeout-minutes']) * 60_000,
  report: ({ step, ok, detail }) =>
    console.info(`${ok ? 'ok  ' : 'FAIL'} ${step.padEnd(24)} ${detail}`),
});
console.info(result.ok ? '\nsmoke check passed' : '\nsmoke check FAILED');
process.exit(result.ok ? 0 : 1);
