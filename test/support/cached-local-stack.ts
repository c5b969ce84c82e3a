import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SynthesizedStack } from '../../lambdas/local/synthesized-workflow.js';
import { runDirectory } from './run-directory.js';

/**
 * The realm is the local server's host (a new port each start), and only ever lands in the
 * functions' MPP_REALM: the stack is synthesised once with this stand-in, then given each
 * start's realm.
 */
const REALM_STAND_IN = 'realm-stand-in.invalid';
const REALM_KEY = 'storefront:realm';

const synthesised = new Map<string, string>();

/**
 * What `synthesizeLocalStack` builds, synthesised once per configuration per test run and
 * shared by every worker through the run directory: each local start would otherwise build
 * the CDK app again (and each test file load the CDK to do it).
 */
export async function cachedLocalStack(
  tableName: string,
  context: Record<string, unknown>,
): Promise<SynthesizedStack> {
  const realm = context[REALM_KEY];
  const keyed = typeof realm === 'string' ? { ...context, [REALM_KEY]: REALM_STAND_IN } : context;
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
  if (typeof realm === 'string')
    text = text.replaceAll(REALM_STAND_IN, JSON.stringify(realm).slice(1, -1));
  return JSON.parse(text) as SynthesizedStack;
}
