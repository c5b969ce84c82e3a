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
  // Bundling every function takes minutes on a busy machine.
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
    // The CDK's own custom resource provider (it reads the edge function's version) aside.
    const functions = Object.entries(
      template.Resources as Record<string, { Type: string; Metadata?: Record<string, string> }>,
    )
      .filter(
        ([id, resource]) => resource.Type === 'AWS::Lambda::Function' && !id.startsWith('AWS'),
      )
      .map(([, resource]) => resource);
    expect(functions.length).toBe(Object.keys(OPERATION_ACCESS).length + 7 + 1);
    // (the workflow's six, the capacity watcher and the payment sweeper)
    // Its us-east-1 stack: the Lambda@Edge function and the front door's web ACL.
    const usEast1Template = JSON.parse(
      readFileSync(join(out, 'AgenticComputeStorefront-us-east-1.template.json'), 'utf8'),
    );
    functions.push(
      ...Object.values(
        usEast1Template.Resources as Record<
          string,
          { Type: string; Metadata?: Record<string, string> }
        >,
      ).filter((resource) => resource.Type === 'AWS::Lambda::Function'),
    );
    expect(
      Object.values(usEast1Template.Resources as Record<string, { Type: string }>).map(
        (resource) => resource.Type,
      ),
    ).toContain('AWS::WAFv2::WebACL');
    for (const fn of functions) {
      const asset = fn.Metadata?.['aws:asset:path'];
      expect(asset && existsSync(join(out, asset, 'index.mjs'))).toBe(true);
    }
  }, 300_000);
});
