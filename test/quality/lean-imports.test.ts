import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every TypeScript file under a folder, recursively. */
const sources = (folder: string): string[] =>
  readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(folder, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(folder, entry.name)]
        : [],
  );

/**
 * Imports that silently make every function heavy (the bundle size test measures the result;
 * this names the cause): zod's `{ z }` export defeats tree shaking (about 420 KiB instead of
 * 85), and mppx's `mppx/server` entry brings viem and every payment rail (about 1.7 MiB).
 */
const HEAVY_IMPORTS: [RegExp, string][] = [
  [/import\s*\{\s*z\s*\}\s*from\s*'zod(\/mini)?'/, "import * as z from 'zod'"],
  [/from\s*'mppx\/server'/, 'mppx/server/core and mppx/stripe/server/spt'],
  [/from\s*'mppx\/stripe\/server'/, 'mppx/stripe/server/spt'],
];

describe('function code imports what tree-shakes', () => {
  it.each(HEAVY_IMPORTS)('no runtime file matches %s', (pattern, instead) => {
    const offenders = sources('lambdas')
      .filter((file) => !file.startsWith(join('lambdas', 'local')))
      .filter((file) => pattern.test(readFileSync(file, 'utf8')));
    expect({ offenders, instead }).toEqual({ offenders: [], instead });
  });
});
