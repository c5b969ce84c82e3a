/**
 * How long `npm start` takes to answer: launch of the process → first 200 on GET /api/health,
 * as a newcomer sees it (`npx tsx bin/bench-startup.ts [--runs 5] [--command npm|tsx] [--cwd DIR]`;
 * `--cwd` times another checkout's `npm start`, to compare two commits on the same machine).
 * Each run starts the storefront as a process of its own with a fresh data directory and a
 * free port, polls /api/health every 10 ms (a 503 "starting" answer is not yet an answer)
 * and stops it. Part of `npm run bench`. The first start after a change to the sources builds
 * the bundle and synthesises the stack again (bin/start.mjs, lambdas/local/stack-cache.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function healthStatus(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

export interface StartupRun {
  /** Launch → first 200 on /api/health. */
  first200Ms: number;
  /** Launch → first answer of any status (503 while the stack is still being built). */
  firstAnswerMs: number;
}

/** One launch of the local storefront → its first 200 on /api/health, in ms. */
export async function measureStartup(
  command: 'npm' | 'tsx' = 'npm',
  cwd = process.cwd(),
  timeoutMs = 30_000,
): Promise<StartupRun> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'storefront-bench-startup-'));
  const args = ['--port', String(port), '--data-dir', dataDir];
  const started = performance.now();
  const child =
    command === 'npm'
      ? spawn('npm', ['start', '--silent', '--', ...args], { cwd, stdio: 'ignore', detached: true })
      : spawn(join('node_modules', '.bin', 'tsx'), ['bin/local-storefront.ts', ...args], {
          cwd,
          stdio: 'ignore',
          detached: true,
        });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const url = `http://127.0.0.1:${port}/api/health`;
  let firstAnswerMs: number | undefined;
  try {
    for (;;) {
      if (exited) throw new Error('the storefront exited before it answered');
      const elapsed = performance.now() - started;
      if (elapsed > timeoutMs) throw new Error(`no 200 on ${url} within ${timeoutMs} ms`);
      const status = await healthStatus(url);
      if (status !== undefined) firstAnswerMs ??= performance.now() - started;
      if (status === 200) {
        const first200Ms = performance.now() - started;
        return { first200Ms, firstAnswerMs: firstAnswerMs ?? first200Ms };
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    // npm runs tsx runs node: the whole process group goes.
    if (!exited && child.pid !== undefined) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM');
      await gone;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** Several launches; prints each and the median, and returns the median launch → first 200. */
export async function benchStartup(
  runs = 5,
  command: 'npm' | 'tsx' = 'npm',
  cwd = process.cwd(),
): Promise<number> {
  console.info(
    `\nStart-up (${command === 'npm' ? 'npm start' : 'tsx bin/local-storefront.ts'}${cwd === process.cwd() ? '' : ` in ${cwd}`}, launch → first 200 on GET /api/health; target 2000 ms):`,
  );
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const run = await measureStartup(command, cwd);
    times.push(run.first200Ms);
    console.info(
      `  run ${i + 1}: first 200 after ${run.first200Ms.toFixed(0).padStart(5)} ms (first answer ${run.firstAnswerMs.toFixed(0)} ms)`,
    );
  }
  console.info(
    `  median ${median(times).toFixed(0)} ms, min ${Math.min(...times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms`,
  );
  return median(times);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      command: { type: 'string', default: 'npm' },
      cwd: { type: 'string', default: process.cwd() },
    },
  });
  if (values.command !== 'npm' && values.command !== 'tsx') {
    console.error('--command is npm or tsx');
    process.exit(2);
  }
  await benchStartup(Number(values.runs), values.command, values.cwd);
}
