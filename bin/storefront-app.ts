/**
 * The CDK app: `npx cdk synth`, `npx cdk deploy`. Configuration comes from CDK context
 * (cdk.json defaults, `-c storefront:<key>=<value>` overrides); see README "Operating".
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from '../lib/config.js';
import { StorefrontStack } from '../lib/storefront-stack.js';

const app = new App();
const config = readConfig(app.node.getAllContext());
const stackName =
  (app.node.tryGetContext('stackName') as string | undefined) ?? 'AgenticComputeStorefront';

new StorefrontStack(app, stackName, {
  config,
  description:
    'Agentic Compute Storefront: temporary Linux and H100 machines leased over HTTP, paid with MPP',
  // Account and region come from the deploying credentials; without them synth stays environment-agnostic.
  ...(process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
    ? { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } }
    : {}),
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
