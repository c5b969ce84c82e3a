import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type * as z from 'zod';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every function of the stack runs on the same supported runtime and architecture. */
export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;
export const FUNCTION_ARCHITECTURE = Architecture.ARM_64;

/** A function's environment schema: an object of string-typed variables (lambdas/runtime/*-environment.ts). */
export type EnvironmentSchema = z.ZodObject<z.ZodRawShape>;

export interface StorefrontFunctionProps<Schema extends EnvironmentSchema> {
  /** Source file, relative to the project root. */
  entry: string;
  handler?: string;
  description: string;
  /** The schema the function parses its environment with: the one source of its variables. */
  environmentSchema: Schema;
  /** Typed against the schema's input, so a variable the function needs cannot be left out. */
  environment: z.input<Schema>;
  timeout: Duration;
  memorySize?: number;
  logRetention: RetentionDays;
}

/** Memory of a function that names none (API handlers among them); bench prices GB-seconds with it. */
export const DEFAULT_MEMORY_MB = 512;

/**
 * A Lambda function bundled locally by esbuild (no Docker) into one ES module, with its
 * own role, log group, JSON logs and X-Ray tracing.
 */
export function storefrontFunction<Schema extends EnvironmentSchema>(
  scope: Construct,
  id: string,
  props: StorefrontFunctionProps<Schema>,
): NodejsFunction {
  const environment = functionEnvironment(id, props.environmentSchema, props.environment);
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
    memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
    timeout: props.timeout,
    tracing: Tracing.ACTIVE,
    loggingFormat: LoggingFormat.JSON,
    logGroup,
    environment: { NODE_OPTIONS: '--enable-source-maps', ...environment },
    bundling: {
      format: OutputFormat.ESM,
      target: BUNDLE.target,
      mainFields: BUNDLE.mainFields,
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      externalModules: BUNDLE.external,
      banner: BUNDLE.banner,
      forceDockerBundling: false,
      // The bundle is built by the afterBundling hook below (lib/bundling/shaken-bundle.mjs),
      // with the SDK schema plugin that the esbuild command line NodejsFunction drives cannot
      // load; it replaces index.mjs and its map. NodejsFunction's own pass leaves packages out,
      // so it costs little (`cdk synth` 51 -> 40 s here; the assets' hashes are unchanged).
      esbuildArgs: { '--packages': 'external' },
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (inputDir, outputDir) => [
          `node "${inputDir}/lib/bundling/shaken-bundle.mjs" "${inputDir}/${props.entry}" "${outputDir}" ${Buffer.from(JSON.stringify(BUNDLE)).toString('base64')}`,
        ],
      },
    },
  });
}

export const seconds = Duration.seconds;

/**
 * The variables as CloudFormation gets them. Values are often tokens (resolved at deploy),
 * so only their presence can be checked here: a variable the schema requires and the
 * construct omits fails the synth even where types were bypassed.
 */
function functionEnvironment(
  id: string,
  schema: EnvironmentSchema,
  environment: Readonly<Record<string, unknown>>,
): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment)) {
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new Error(`${id}: environment ${name} must be a string`);
    variables[name] = value;
  }
  const missing = Object.entries(schema.shape)
    .filter(
      ([name, variable]) =>
        !(name in variables) && !(variable as z.ZodType).safeParse(undefined).success,
    )
    .map(([name]) => name);
  if (missing.length) throw new Error(`${id}: environment lacks ${missing.join(', ')}`);
  return variables;
}

/**
 * The SDK's default credential chain tries the environment first and imports every other
 * source (SSO, profiles, processes, web identity, container and instance metadata) only when
 * that fails. On Lambda it never fails: "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN – The access keys obtained from the function's execution role" are among
 * the runtime's defined environment variables (Lambda developer guide, "Defined runtime
 * environment variables"). Leaving them out saves about 100 KiB per function.
 */
const UNUSED_CREDENTIAL_SOURCES = [
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-login',
  '@smithy/credential-provider-imds',
];

const MPPX_OPTIONAL_PEERS = [
  '@modelcontextprotocol/sdk',
  '@x402/*',
  'elysia',
  'express',
  'hono',
  'next',
];

/** How every function is bundled (by NodejsFunction, then again by lib/bundling/shaken-bundle.mjs). */
const BUNDLE = {
  target: 'node24',
  mainFields: ['module', 'main'],
  // The AWS SDK is bundled at the locked version rather than taken from the runtime; mppx's
  // optional integrations (MCP, x402, web frameworks) are never loaded by the storefront,
  // nor are the SDK's lazily imported credential sources (see UNUSED_CREDENTIAL_SOURCES).
  external: [...MPPX_OPTIONAL_PEERS, ...UNUSED_CREDENTIAL_SOURCES],
  // Some bundled CommonJS dependencies call require(); give the ES module one.
  banner:
    "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
};
