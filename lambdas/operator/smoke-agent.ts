import { parseEnvironment } from '../runtime/environment-values.js';
import { smokeAgentEnvironmentSchema } from './smoke-agent-environment.js';
import { runSmokeJourney, type SmokeResult } from './smoke-journey.js';
import { throwawayEd25519Key } from './throwaway-ssh-key.js';

/** The log line the integration test's assertion waits for (its CloudWatch Logs filter term). */
export const JOURNEY_PASSED = 'smoke.journey.passed';

/**
 * The smoke journey as a Lambda function, for the integration test: deployed next to a
 * disposable stage and invoked asynchronously by the test (a journey outlasts the assertion
 * provider's own two-minute calls), it logs each step and, last, whether the journey passed.
 */
export const handler = async (): Promise<SmokeResult> => {
  const config = parseEnvironment(smokeAgentEnvironmentSchema, process.env, 'smoke agent');
  const result = await runSmokeJourney({
    baseUrl: config.STOREFRONT_URL,
    sshPublicKey: throwawayEd25519Key('storefront-integ'),
    payment: { method: 'test' },
    // One invocation lasts at most 15 minutes; a bare Linux machine is ready in a few.
    timeoutMs: 12 * 60_000,
    report: (step) => console.info(JSON.stringify(step)),
  });
  console.info(result.ok ? JOURNEY_PASSED : 'smoke.journey.failed');
  return result;
};
