import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Runs a check; on failure, its own output is the test's failure message. */
async function check(command: string, args: string[]): Promise<void> {
  try {
    await exec(command, args, {
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, NO_COLOR: '1' },
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `${command} ${args.join(' ')} failed:\n${`${stdout}\n${stderr}`.trim().slice(0, 8000)}`,
    );
  }
}

/** Lint, format and type checks run as tests, so the test command's summary covers them. */
describe('static checks', () => {
  it(
    'passes biome (formatting and lint) with no findings',
    () => check('npx', ['biome', 'ci', '--colors=off', '.']),
    300_000,
  );

  // A whole-project type check by TypeScript 7 (`npm run typecheck`): the native compiler,
  // a third of 5.9's CPU time here (10 vs 27 s). Jest only strips types (esbuild).
  it(
    'type-checks under strict TypeScript',
    () => check('npm', ['run', '--silent', 'typecheck']),
    300_000,
  );
});
