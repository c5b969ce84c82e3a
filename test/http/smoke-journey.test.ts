import { runSmokeJourney, type SmokeStep } from '../../lambdas/operator/smoke-journey.js';
import { type Harness, startHarness } from '../support/harness.js';
import { AGENT_KEY } from '../support/ssh-keys.js';
import { localStripe } from '../support/stripe-stand-in.js';

/**
 * The operator's smoke check (npm run smoke, and the integration test's agent) played
 * against the local storefront: it must pass where the journey works and stop at the
 * step that does not.
 */
describe('the smoke journey', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness();
  });
  afterAll(async () => {
    await api.close();
  });

  it('passes every step of a lease from discovery to termination', async () => {
    const reported: SmokeStep[] = [];
    const result = await runSmokeJourney({
      baseUrl: api.url,
      payment: { method: 'test' },
      sshPublicKey: AGENT_KEY,
      pollMs: 20,
      timeoutMs: 50_000,
      report: (step) => reported.push(step),
    });
    expect(result.steps.map(({ step, ok }) => [step, ok])).toEqual([
      ['discovery', true],
      ['health', true],
      ['quote', true],
      ['order without payment', true],
      ['order paid', true],
      ['machine active', true],
      ['lease extended (paid)', true],
      ['terminate', true],
      ['machine terminated', true],
    ]);
    expect(result.ok).toBe(true);
    expect(reported).toEqual(result.steps);
  });

  it('stops at the first step that fails, and says which', async () => {
    // A stage that takes Stripe only: the smoke agent's test credential cannot pay it.
    const refusing = await startHarness(
      localStripe({ secretKey: 'sk_test_not_a_real_key', networkId: 'profile_test_123' }),
    );
    try {
      const result = await runSmokeJourney({
        baseUrl: refusing.url,
        payment: { method: 'test' },
        sshPublicKey: AGENT_KEY,
        pollMs: 20,
        timeoutMs: 50_000,
      });
      expect(result.ok).toBe(false);
      expect(result.steps.map(({ step, ok }) => [step, ok])).toEqual([
        ['discovery', true],
        ['health', true],
        ['quote', true],
        ['order without payment', true],
        ['order paid', false],
      ]);
      expect(result.steps.at(-1)?.detail).toMatch(/No method found for challenges: stripe\.charge/);
      expect(result.machineId).toBeUndefined();
    } finally {
      await refusing.close();
    }
  });
});
