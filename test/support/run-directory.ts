import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_DIRECTORY_VARIABLE } from './global-setup.js';

let ownDirectory: string | undefined;

/**
 * A directory of this test run where workers share what is built once per run (synthesised
 * stacks). A file run on its own, without the global setup, gets one of its own.
 */
export function runDirectory(...subfolders: string[]): string {
  let root = process.env[RUN_DIRECTORY_VARIABLE];
  if (!root) {
    ownDirectory ??= mkdtempSync(join(tmpdir(), 'storefront-test-run-'));
    root = ownDirectory;
  }
  const folder = join(root, ...subfolders);
  mkdirSync(folder, { recursive: true });
  return folder;
}
