import { throwawayEd25519Key } from '../local/throwaway-ssh-key.js';
import { parseEnvironment } from '../runtime/environment-values.js';
import { smokeAgentEnvironmentSchema } from './smoke-agent-environment.js';
import { runSmokeJourney, type SmokeResult } from './smoke-journey.js';

/**
 * The smoke journey as a Lambda function, for the integration test: deployed next to a
 * disposable stage and invoked by the test's assertion, it answers with every step's outcome.
 */
export const handler = async (): Promise<SmokeResult> => {
  const config = parseEnvironment(smokeAgentEnvironmentSchema, process.env, 'smoke agent');
  return runSmokeJourney({
    baseUrl: config.STOREFRONT_URL,
    sshPublicKey: throwawayEd25519Key('storefront-integ'),
    payment: { method: 'test' },
    // One invocation lasts at most 15 minutes; a bare Linux machine is ready in a few.
    timeoutMs: 12 * 60_000,
    report: (step) => console.info(JSON.stringify(step)),
  });
};
