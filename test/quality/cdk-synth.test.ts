import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OPERATION_ACCESS } from '../../lambdas/runtime/operation-access.js';

const exec = promisify(execFile);

/**
 * `npx cdk synth` as an operator runs it on a fresh clone: the CDK CLI, the app in cdk.json,
 * every function bundled by the local esbuild, cdk-nag, no AWS credentials, no Docker.
 */
describe('npx cdk synth', () => {
  it('synthesises the stack offline, bundling every function', async () => {
    const out = mkdtempSync(join(tmpdir(), 'storefront-synth-'));
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    for (const name of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_PROFILE',
    ])
      delete env[name];
    try {
      await exec('npx', ['cdk', 'synth', '--quiet', '--output', out], {
        env,
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`cdk synth failed:\n${`${stdout}\n${stderr}`.slice(-6000)}`);
    }
    const template = JSON.parse(
      readFileSync(join(out, 'AgenticComputeStorefront.template.json'), 'utf8'),
    );
    const functions = Object.values(
      template.Resources as Record<string, { Type: string; Metadata?: Record<string, string> }>,
    ).filter((resource) => resource.Type === 'AWS::Lambda::Function');
    // The API functions, the 5 workflow functions and the payment sweeper.
    expect(functions.length).toBe(Object.keys(OPERATION_ACCESS).length + 5 + 1);
    for (const fn of functions) {
      const asset = fn.Metadata?.['aws:asset:path'];
      expect(asset && existsSync(join(out, asset, 'index.mjs'))).toBe(true);
    }
  });
});
