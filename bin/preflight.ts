/**
 * `npm run preflight [-- --region <region>] [-c key=value …]`: before a deploy, checks with the
 * operator's credentials and read-only calls what would make `cdk deploy` or the first lease
 * fail (bin/preflight-checks.ts), one line per check with what to do. Exits 1 on a blocker,
 * 0 otherwise (warnings included). The `-c` overrides are the ones `cdk deploy` would get.
 */
import { parseArgs } from 'node:util';
import { STSClient } from '@aws-sdk/client-sts';
import { cdkJsonContext, readConfig } from '../lib/config.js';
import { awsClients, exitCodeOf, formatResult, runPreflight } from './preflight-checks.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function targetRegion(flag: string | undefined): Promise<string | undefined> {
  if (flag) return flag;
  try {
    // The SDK's own chain: AWS_REGION, then the profile's region in ~/.aws/config.
    return await new STSClient({}).config.region();
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      region: { type: 'string' },
      context: { type: 'string', short: 'c', multiple: true },
    },
  });
  const overrides = Object.fromEntries(
    (values.context ?? []).map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`-c takes key=value, not ${pair}`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  const context = { ...cdkJsonContext(), ...overrides };
  const config = readConfig(context);
  const stackName = (context.stackName as string | undefined) ?? 'AgenticComputeStorefront';
  const region = await targetRegion(values.region);
  if (!region) {
    console.info(
      'BLOCKER region: no AWS region configured: set AWS_REGION, a region in your profile, or pass --region',
    );
    return 1;
  }
  console.info(`Preflight for ${stackName} in ${region} (read-only calls only)`);
  const results = await runPreflight(awsClients(region), { region, stackName, config });
  for (const result of results) console.info(formatResult(result));
  return exitCodeOf(results);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A configuration error (an invalid -c value, say): one line, no stack trace.
    console.info(`BLOCKER preflight: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
