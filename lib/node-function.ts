import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every function of the stack runs on the same supported runtime and architecture. */
export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;
export const FUNCTION_ARCHITECTURE = Architecture.ARM_64;

export interface StorefrontFunctionProps {
  /** Source file, relative to the project root. */
  entry: string;
  handler?: string;
  description: string;
  environment: Record<string, string>;
  timeout: Duration;
  memorySize?: number;
  logRetention: RetentionDays;
}

/**
 * A Lambda function bundled locally by esbuild (no Docker) into one ES module, with its
 * own role, log group, JSON logs and X-Ray tracing.
 */
export function storefrontFunction(
  scope: Construct,
  id: string,
  props: StorefrontFunctionProps,
): NodejsFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  // Its own role, allowed to write to its own log group only (no AWS managed policy).
  const role = new Role(scope, `${id}Role`, {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: props.description,
  });
  role.addToPolicy(
    new PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  return new NodejsFunction(scope, id, {
    role,
    entry: `${PROJECT_ROOT}${props.entry}`,
    handler: props.handler ?? 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
    description: props.description,
    runtime: FUNCTION_RUNTIME,
    architecture: FUNCTION_ARCHITECTURE,
    memorySize: props.memorySize ?? 512,
    timeout: props.timeout,
    tracing: Tracing.ACTIVE,
    loggingFormat: LoggingFormat.JSON,
    logGroup,
    environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
    bundling: {
      format: OutputFormat.ESM,
      target: 'node24',
      mainFields: ['module', 'main'],
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      // The AWS SDK is bundled at the locked version rather than taken from the runtime; mppx's
      // optional integrations (MCP, x402, web frameworks) are never loaded by the storefront.
      externalModules: MPPX_OPTIONAL_PEERS,
      // Some bundled CommonJS dependencies call require(); give the ES module one.
      banner:
        "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      forceDockerBundling: false,
    },
  });
}

export const seconds = Duration.seconds;

const MPPX_OPTIONAL_PEERS = [
  '@modelcontextprotocol/sdk',
  '@x402/*',
  'elysia',
  'express',
  'hono',
  'next',
];
