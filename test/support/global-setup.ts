import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Names the run's shared directory for the workers, which inherit the environment. */
export const RUN_DIRECTORY_VARIABLE = 'STOREFRONT_TEST_RUN_DIR';

/**
 * Jest global setup (loaded outside Jest's module mapping, so it imports nothing of ours): one
 * directory per test run where workers share what is built once, removed when the run ends.
 */
export default function globalSetup(): void {
  const directory = mkdtempSync(join(tmpdir(), 'storefront-test-run-'));
  process.env[RUN_DIRECTORY_VARIABLE] = directory;
  process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
}
