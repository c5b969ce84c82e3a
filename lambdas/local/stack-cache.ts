import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SynthesizedStack } from './synthesized-workflow.js';

/**
 * The realm is the local server's host (its port can change each start), and only ever lands
 * in the functions' MPP_REALM: a stack is kept with this stand-in, then given each start's realm.
 */
const REALM_STAND_IN = 'realm-stand-in.invalid';
const REALM_KEY = 'storefront:realm';

/** The context with its realm replaced by the stand-in: what a kept stack is built from. */
export function realmNeutral(context: Record<string, unknown>): Record<string, unknown> {
  return typeof context[REALM_KEY] === 'string'
    ? { ...context, [REALM_KEY]: REALM_STAND_IN }
    : context;
}

/** A kept stack's text given the context's own realm. */
export function withRealm(text: string, context: Record<string, unknown>): SynthesizedStack {
  const realm = context[REALM_KEY];
  const own =
    typeof realm === 'string'
      ? text.replaceAll(REALM_STAND_IN, JSON.stringify(realm).slice(1, -1))
      : text;
  return JSON.parse(own) as SynthesizedStack;
}

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Everything the synthesis can read, whole: the CDK app (lib/), every runtime source (lib/
 * imports parts of lambdas/ and hashes the edge functions' files), the operator context
 * (cdk.json), the contract the API is built from, and the installed dependencies (the lock
 * file, and the CDK's own package files in case node_modules differs from it). Deliberately
 * more than the synthesis needs: a kept stack that hid a change would make the local model lie.
 */
const SOURCE_FOLDERS = ['lib', 'lambdas'];
const SOURCE_FILES = [
  'cdk.json',
  'openapi.json',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'node_modules/aws-cdk-lib/package.json',
  'node_modules/constructs/package.json',
];

/** Bumped when what is kept changes shape. */
const FORMAT = 1;

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** A hash of every input of the synthesis, read now (about 200 files, a few milliseconds). */
export function synthesisInputsHash(root = PROJECT_ROOT): string {
  const hash = createHash('sha256').update(`format ${FORMAT}\n`);
  const files = [
    ...SOURCE_FOLDERS.flatMap((folder) => filesUnder(join(root, folder))),
    ...SOURCE_FILES.map((file) => join(root, file)),
  ].sort();
  for (const file of files) {
    let content: Buffer | string;
    try {
      content = readFileSync(file);
    } catch {
      content = '(absent)';
    }
    hash.update(`${relative(root, file)}\n${content.length}\n`).update(content);
  }
  return hash.digest('hex');
}

export interface KeptSynthesis {
  (tableName: string, context: Record<string, unknown>): Promise<SynthesizedStack>;
  /** How the last stack was had: read from the folder, or synthesised (and written there). */
  readonly lastOutcome: 'kept' | 'synthesised' | undefined;
}

/** Stacks kept beyond this many (the least recently used first) are removed. */
const KEEP_AT_MOST = 32;

/**
 * `synthesizeLocalStack`, kept in `directory` between starts: one file per configuration, named
 * by a hash of the table name, the operator context (realm aside) and every input of the
 * synthesis (`synthesisInputsHash`), so a change to any of them synthesises again. Building
 * the CDK app, and loading the CDK to do it, is most of a local start otherwise.
 */
export function keptSynthesis(
  directory: string,
  {
    synthesize = async (tableName, context) => {
      const { synthesizeLocalStack } = await import('./synthesized-workflow.js');
      return synthesizeLocalStack(tableName, context);
    },
    root = PROJECT_ROOT,
  }: {
    /** What builds a stack that is not kept (default: `synthesizeLocalStack`, the CDK loaded then). */
    synthesize?: (tableName: string, context: Record<string, unknown>) => Promise<SynthesizedStack>;
    /** The project whose sources key the kept stacks. */
    root?: string;
  } = {},
): KeptSynthesis {
  let lastOutcome: KeptSynthesis['lastOutcome'];
  const kept = async (tableName: string, context: Record<string, unknown>) => {
    const neutral = realmNeutral(context);
    const key = createHash('sha256')
      .update(JSON.stringify([tableName, neutral, synthesisInputsHash(root)]))
      .digest('hex')
      .slice(0, 32);
    const file = join(directory, `${key}.json`);
    try {
      const text = readFileSync(file, 'utf8');
      const stack = withRealm(text, context);
      const now = new Date();
      utimesSync(file, now, now);
      lastOutcome = 'kept';
      return stack;
    } catch {
      // Not kept yet (or unreadable): synthesised below.
    }
    const text = JSON.stringify(await synthesize(tableName, neutral));
    lastOutcome = 'synthesised';
    try {
      mkdirSync(directory, { recursive: true });
      // Written whole, then renamed: another start never reads half a file.
      const partial = `${file}.${process.pid}.partial`;
      writeFileSync(partial, text);
      renameSync(partial, file);
      prune(directory);
    } catch {
      // A folder that cannot be written to only means the next start synthesises again.
    }
    return withRealm(text, context);
  };
  return Object.defineProperty(kept, 'lastOutcome', { get: () => lastOutcome }) as KeptSynthesis;
}

function prune(directory: string) {
  const stacks = readdirSync(directory)
    .filter((name) => name.endsWith('.json'))
    .map((name) => ({ file: join(directory, name), used: statSync(join(directory, name)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const { file } of stacks.slice(KEEP_AT_MOST)) rmSync(file, { force: true });
}
