import { App, Duration, Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { parseEnvironment } from '../../lambdas/runtime/environment-values.js';
import {
  type LaunchFunctionEnvironment,
  launchEnvironmentSchema,
  workflowEnvironmentSchema,
} from '../../lambdas/runtime/workflow-environment.js';
import { storefrontFunction } from '../../lib/node-function.js';

const shared = {
  TABLE_NAME: 'table',
  MANAGED_BY: 'stack',
  RETENTION_DAYS: '30',
  RECONCILE_GRACE_MINUTES: '10',
};

const launchFunction = (environment: LaunchFunctionEnvironment) =>
  storefrontFunction(new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } })), 'Launch', {
    entry: 'lambdas/workflow/launch-instance.ts',
    description: 'launch',
    environmentSchema: launchEnvironmentSchema,
    environment,
    timeout: Duration.seconds(60),
    logRetention: RetentionDays.ONE_DAY,
  });

describe('function environments typed by the schemas the functions parse', () => {
  it('refuses, at synth, a construct that leaves out a variable its function needs', () => {
    // @ts-expect-error SUBNETS is required by the launch function's schema
    const missing: LaunchFunctionEnvironment = { ...shared, LAUNCH_TEMPLATES: '{}' };
    expect(() => launchFunction(missing)).toThrow(/Launch: environment lacks SUBNETS/);
    expect(() =>
      launchFunction({
        ...shared,
        LAUNCH_TEMPLATES: '{}',
        SUBNETS: '[]',
        PUBLIC_URL_PARAMETER: '/s/public-url',
      }),
    ).not.toThrow();
  });

  it('lets the stack launch only some products (zod 4 records keyed by an enum need partialRecord)', () => {
    const config = parseEnvironment(
      launchEnvironmentSchema,
      {
        ...shared,
        LAUNCH_TEMPLATES: '{"bare-linux-machine":"lt-1"}',
        SUBNETS: '[{"id":"subnet-1","availabilityZone":"us-east-1a"}]',
        PUBLIC_URL_PARAMETER: '/s/public-url',
      },
      'workflow',
    );
    expect(config.LAUNCH_TEMPLATES).toEqual({ 'bare-linux-machine': 'lt-1' });
  });

  it('starts the functions that launch nothing without launch templates', () => {
    expect(parseEnvironment(workflowEnvironmentSchema, shared, 'workflow').RETENTION_DAYS).toBe(30);
    expect(() =>
      parseEnvironment(
        workflowEnvironmentSchema,
        { ...shared, RETENTION_DAYS: 'thirty' },
        'workflow',
      ),
    ).toThrow(/invalid workflow configuration: RETENTION_DAYS: a whole number/);
  });
});
