import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { realmNeutral, withRealm } from '../../lambdas/local/stack-cache.js';
import type { SynthesizedStack } from '../../lambdas/local/synthesized-workflow.js';
import { runDirectory } from './run-directory.js';

const synthesised = new Map<string, string>();

/**
 * What `synthesizeLocalStack` builds, synthesised once per configuration per test run and
 * shared by every worker through the run directory: each local start would otherwise build
 * the CDK app again (and each test file load the CDK to do it). The realm (the local server's
 * host, a new port each start) is kept as a stand-in, as `npm start`'s kept stacks are
 * (lambdas/local/stack-cache.ts); a run's sources do not change, so no input hash is needed.
 */
export async function cachedLocalStack(
  tableName: string,
  context: Record<string, unknown>,
): Promise<SynthesizedStack> {
  const keyed = realmNeutral(context);
  const key = createHash('sha256')
    .update(JSON.stringify([tableName, keyed]))
    .digest('hex')
    .slice(0, 32);
  let text = synthesised.get(key);
  if (text === undefined) {
    const file = join(runDirectory('local-stacks'), `${key}.json`);
    if (existsSync(file)) text = readFileSync(file, 'utf8');
    else {
      const { synthesizeLocalStack } = await import('../../lambdas/local/synthesized-workflow.js');
      text = JSON.stringify(synthesizeLocalStack(tableName, keyed));
      // Written whole, then renamed: another worker never reads half a file.
      const partial = `${file}.${process.pid}.partial`;
      writeFileSync(partial, text);
      renameSync(partial, file);
    }
    synthesised.set(key, text);
  }
  return withRealm(text, context);
}
