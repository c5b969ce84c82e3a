import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The local storefront's secret: generated once per data directory (so challenges, order
 * ids and tokens survive a restart), or per process when running in memory.
 */
export function localStorefrontSecret(dataDirectory?: string): string {
  if (!dataDirectory) return randomBytes(32).toString('base64url');
  mkdirSync(dataDirectory, { recursive: true });
  const file = join(dataDirectory, 'storefront-secret');
  if (!existsSync(file))
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  return readFileSync(file, 'utf8').trim();
}
