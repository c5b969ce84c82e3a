import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { cdkJsonContext } from '../../lib/config.js';
import { runDirectory } from './run-directory.js';

const exec = promisify(execFile);

/** Generous for a busy 2-core machine: bundling every function alone takes minutes there. */
const WAIT_FOR_OTHER_WORKER_MS = 15 * 60_000;

/**
 * Without credentials, as a fresh clone synthesises: nothing may need an AWS account. The
 * CDK CLI's account and region are dropped too (a shell may have them), unless `extra` sets them.
 */
function offlineEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'CDK_DEFAULT_ACCOUNT',
    'CDK_DEFAULT_REGION',
  ])
    delete env[name];
  return { ...env, ...extra };
}

/**
 * Where `cdk deploy` and `cdk bootstrap` synthesise the app: with credentials the CDK CLI sets
 * CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION, and bin/storefront-app.ts gives the stacks that
 * concrete environment (ARNs become literals, the VPC looks its zones up).
 */
export interface DeployTarget {
  account: string;
  region: string;
}

/** A made-up account: nothing here reaches AWS. */
export const TEST_ACCOUNT = '123456789012';

/**
 * What the CLI's look-ups with credentials would have cached in cdk.context.json: the
 * region's zones (three, as most regions offer; the VPC spans up to three).
 */
function lookedUp({ account, region }: DeployTarget): Record<string, unknown> {
  return {
    [`availability-zones:account=${account}:region=${region}`]: ['a', 'b', 'c'].map(
      (zone) => `${region}${zone}`,
    ),
  };
}

async function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await exec(command, args, { env, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${`${stdout}\n${stderr}`.slice(-6000)}`);
  }
}

/**
 * Builds `name` once per test run into a folder of the run directory, whichever worker asks
 * first (it holds the lock, a directory only one can create); the others wait for its result,
 * or its failure, and read the same folder.
 */
async function oncePerRun(name: string, build: (out: string) => Promise<void>): Promise<string> {
  const folder = runDirectory('once', name);
  const out = join(folder, 'out');
  const done = join(folder, 'done');
  const failed = join(folder, 'failed');
  try {
    mkdirSync(join(folder, 'lock'));
  } catch {
    const deadline = Date.now() + WAIT_FOR_OTHER_WORKER_MS;
    while (!existsSync(done) && !existsSync(failed)) {
      if (Date.now() > deadline) throw new Error(`${name}: another worker never finished it`);
      await sleep(250);
    }
    if (existsSync(failed)) throw new Error(readFileSync(failed, 'utf8'));
    return out;
  }
  try {
    mkdirSync(out);
    await build(out);
  } catch (error) {
    writeFileSync(failed, (error as Error).message);
    throw error;
  }
  writeFileSync(done, '');
  return out;
}

/**
 * `npx cdk synth` as an operator runs it on a fresh clone: the CDK CLI, the app and context in
 * cdk.json, every function bundled by the local esbuild, cdk-nag, no AWS credentials, no
 * Docker. Run once per test run: the synth test checks it, the bundle test runs its bundles.
 */
export function operatorSynth(): Promise<string> {
  // With the CDK's built-in template validation, which the other synths of a test run skip.
  const { CDK_VALIDATION: _skipped, ...asAnOperator } = offlineEnvironment();
  return oncePerRun('operator-synth', (out) =>
    run('npx', ['cdk', 'synth', '--quiet', '--output', out], asAnOperator),
  );
}

/**
 * Every stack of the CDK app synthesised as `cdk synth` does (cdk.json's context plus the
 * overrides, the app entry point, cdk-nag, whose unacknowledged errors fail it), skipping only
 * the bundling of function code; with `target`, as `cdk deploy`/`cdk bootstrap` do for that
 * account and region. Returns the cdk.out folder; once per configuration per test run.
 */
export function synthesisedTemplates(
  overrides: Record<string, unknown>,
  target?: DeployTarget,
): Promise<string> {
  const key = createHash('sha256')
    .update(JSON.stringify([overrides, target ?? null]))
    .digest('hex')
    .slice(0, 16);
  return oncePerRun(`templates-${key}`, (out) =>
    run(
      'npx',
      ['tsx', 'bin/storefront-app.ts'],
      offlineEnvironment({
        CDK_OUTDIR: out,
        CDK_CONTEXT_JSON: JSON.stringify({
          ...cdkJsonContext(),
          ...(target ? lookedUp(target) : {}),
          ...overrides,
          'aws:cdk:bundling-stacks': [],
        }),
        ...(target
          ? { CDK_DEFAULT_ACCOUNT: target.account, CDK_DEFAULT_REGION: target.region }
          : {}),
      }),
    ),
  );
}

/** The template files of a cdk.out folder, by name. */
export function templateFiles(out: string): string[] {
  return readdirSync(out)
    .filter((file) => file.endsWith('.template.json'))
    .sort()
    .map((file) => join(out, file));
}
