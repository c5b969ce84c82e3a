import { ExpectedResult, IntegTest, InvocationType } from '@aws-cdk/integ-tests-alpha';
import { App, Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { JOURNEY_PASSED } from '../../lambdas/operator/smoke-agent.js';
import { smokeAgentEnvironmentSchema } from '../../lambdas/operator/smoke-agent-environment.js';
import { cdkJsonContext, readConfig } from '../../lib/config.js';
import type { FrontDoor } from '../../lib/front-door.js';
import { storefrontFunction } from '../../lib/node-function.js';
import { StorefrontStack } from '../../lib/storefront-stack.js';

/** A disposable stage: the test payment method on, nothing retained after the test. */
export const INTEG_CONTEXT = {
  'storefront:stageName': 'integ',
  'storefront:testPayments': true,
  'storefront:removalPolicy': 'destroy',
  'storefront:logRetentionDays': 1,
};

/**
 * The integration test an operator runs on a real account (integ-runner deploys it, runs
 * the assertion, destroys it): the whole stack as `cdk deploy` ships it, plus an agent
 * function that plays the smoke journey against the stage's front door. The assertions start
 * the agent once (asynchronously: a journey takes minutes, the assertion provider's calls
 * two at most) and wait until its log says that every step passed.
 */
export function agentJourneyApp(extraContext: Record<string, unknown> = {}) {
  const context = { ...cdkJsonContext(), ...INTEG_CONTEXT, ...extraContext };
  const app = new App({ context });
  const stack = new StorefrontStack(app, 'StorefrontAgentJourney', {
    config: readConfig(context),
    description: 'Disposable stage of the Agentic Compute Storefront for its integration test',
  });
  const frontDoor = stack.node.findChild('FrontDoor') as FrontDoor;
  const agent = storefrontFunction(stack, 'SmokeAgent', {
    entry: 'lambdas/operator/smoke-agent.ts',
    description: 'Integration test: plays an agent journey against this stage',
    environmentSchema: smokeAgentEnvironmentSchema,
    environment: { STOREFRONT_URL: `https://${frontDoor.distribution.distributionDomainName}` },
    timeout: Duration.minutes(15),
    logRetention: RetentionDays.ONE_DAY,
  });
  const integ = new IntegTest(app, 'AgentJourney', {
    testCases: [stack],
    diffAssets: false,
    cdkCommandOptions: { destroy: { args: { force: true } } },
  });
  // One journey per test run: an asynchronous invocation is retried on errors by default.
  agent.configureAsyncInvoke({ retryAttempts: 0 });
  integ.assertions
    .invokeFunction({ functionName: agent.functionName, invocationType: InvocationType.EVENT })
    .expect(ExpectedResult.objectLike({ StatusCode: 202 }))
    .next(
      integ.assertions
        .awsApiCall('CloudWatchLogs', 'filterLogEvents', {
          logGroupName: agent.logGroup.logGroupName,
          filterPattern: `"${JOURNEY_PASSED}"`,
        })
        .expect(ExpectedResult.objectLike({ events: Match.arrayWith([Match.objectLike({})]) }))
        .waitForAssertions({ totalTimeout: Duration.minutes(20), interval: Duration.minutes(1) }),
    );
  return { app, stack, agent, integ };
}
