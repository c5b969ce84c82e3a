/**
 * npm run operator -- …: blocks and ends for cause, against a deployed stack (your AWS
 * credentials) or the storefront `npm start` runs, with the storefront's own store code.
 * `npm run operator -- --help` lists the commands.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { LOCAL_ENDPOINTS_FILE, type LocalEndpoints } from '../lambdas/local/local-storefront.js';
import {
  OPERATOR_USAGE,
  runOperatorCommand,
  UsageError,
} from '../lambdas/operator/operator-commands.js';
import { lineLogger } from '../lambdas/runtime/logger.js';
import { localOperatorContext, operatorContext } from './operator-context.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const CONNECTION_FLAGS = ['data-dir', 'stack', 'table', 'public-url', 'by'] as const;

/** The connection flags, taken out of the arguments; the rest is the command. */
function connectionOf(argv: string[]) {
  const values: Partial<Record<(typeof CONNECTION_FLAGS)[number] | 'local' | 'help', string>> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag = '', inline] = arg.startsWith('--') ? arg.slice(2).split(/=(.*)/s) : [''];
    if (flag === 'local' || flag === 'help') values[flag] = 'true';
    else if ((CONNECTION_FLAGS as readonly string[]).includes(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${flag} needs a value`);
      values[flag as (typeof CONNECTION_FLAGS)[number]] = value;
    } else rest.push(arg);
  }
  return { values, rest };
}

async function deployedTable(stackName: string) {
  const { Stacks = [] } = await new CloudFormationClient({}).send(
    new DescribeStacksCommand({ StackName: stackName }),
  );
  const output = (key: string) =>
    Stacks[0]?.Outputs?.find((candidate) => candidate.OutputKey === key)?.OutputValue;
  const tableName = output('TableName');
  if (!tableName) throw new UsageError(`stack ${stackName} has no TableName output`);
  const { Parameter } = await new SSMClient({}).send(
    new GetParameterCommand({ Name: `/${stackName}/public-url` }),
  );
  if (!Parameter?.Value) throw new UsageError(`stack ${stackName} publishes no public URL`);
  const blockedIpSetsParameter = output('BlockedIpSetsParameter');
  return {
    tableName,
    publicUrl: Parameter.Value,
    ...(blockedIpSetsParameter ? { blockedIpSetsParameter } : {}),
  };
}

async function main(argv: string[]): Promise<number> {
  const { values, rest } = connectionOf(argv);
  if (values.help || rest.length === 0) {
    console.info(OPERATOR_USAGE);
    return values.help ? 0 : 2;
  }
  const log = lineLogger((line) => console.error(line));
  const operator = values.by ?? process.env.USER ?? 'operator';
  let context: ReturnType<typeof operatorContext>;
  if (values.local) {
    const dataDir = values['data-dir'] ?? process.env.DATA_DIR ?? '.data';
    let endpoints: LocalEndpoints;
    try {
      endpoints = JSON.parse(readFileSync(join(dataDir, LOCAL_ENDPOINTS_FILE), 'utf8'));
    } catch {
      throw new UsageError(
        `no ${join(dataDir, LOCAL_ENDPOINTS_FILE)}: start the storefront first (npm start; not --in-memory)`,
      );
    }
    context = localOperatorContext(endpoints, operator, log);
  } else if (values.stack || values.table) {
    const found = values.stack
      ? await deployedTable(values.stack)
      : {
          tableName: values.table ?? '',
          publicUrl: values['public-url'] ?? '',
          blockedIpSetsParameter: undefined,
        };
    if (!found.publicUrl) throw new UsageError('--table needs --public-url');
    const { blockedIpSetsParameter, ...table } = found;
    context = operatorContext({
      ...table,
      ...(blockedIpSetsParameter ? { blockedIpSetsParameter } : {}),
      operator,
      log,
    });
  } else {
    throw new UsageError('where? --local, --stack NAME, or --table NAME --public-url URL');
  }
  let lines: string[];
  try {
    lines = await runOperatorCommand(context, rest);
  } finally {
    context.close();
  }
  for (const line of lines) console.info(line);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (
      error instanceof UsageError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      console.error(`${(error as Error).message}\n\n${OPERATOR_USAGE}`);
      process.exit(2);
    }
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
