import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bundleLimit, synthesizedBundles } from '../lambdas/local/cdk-out-bundles.js';

const exec = promisify(execFile);

/** Median of a few runs: one cold import is noisy on a shared machine. */
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** How long a fresh Node process takes to import a bundle (what a cold start pays before the handler runs). */
async function coldImportMs(file: string): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t));`;
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1' },
  });
  return Number(stdout);
}

/**
 * The functions as `cdk synth` bundles them: each bundle's size against its limit (health
 * and discovery 300 KiB, every other function 1 MiB) and its cold import time.
 */
export async function benchBundles(runs = 3): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'storefront-bench-synth-'));
  await exec('npx', ['cdk', 'synth', '--quiet', '--output', out], {
    env: { ...process.env, NO_COLOR: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  console.info('\nFunction bundles (cdk.out, minified ES modules) and their cold import time:');
  const bundles = synthesizedBundles(out, 'AgenticComputeStorefront').sort(
    (a, b) => a.bytes - b.bytes,
  );
  for (const bundle of bundles) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await coldImportMs(bundle.file));
    const limit = bundleLimit(bundle.name);
    console.info(
      `  ${bundle.name.padEnd(22)} ${(bundle.bytes / 1024).toFixed(0).padStart(6)} KiB of ${(limit / 1024).toFixed(0).padStart(4)} KiB ${bundle.bytes < limit ? '   ' : 'OVER'}  import ${median(times).toFixed(0).padStart(4)} ms`,
    );
  }
}
