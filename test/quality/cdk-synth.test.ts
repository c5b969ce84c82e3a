import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPERATION_ACCESS } from '../../lambdas/runtime/operation-access.js';
import { operatorSynth } from '../support/synthesised-app.js';

/**
 * `npx cdk synth` as an operator runs it on a fresh clone: the CDK CLI, the app in cdk.json,
 * every function bundled by the local esbuild, cdk-nag, no AWS credentials, no Docker (run
 * once per test run, see operatorSynth).
 */
describe('npx cdk synth', () => {
  // Bundling every function takes minutes on a busy machine.
  it('synthesises the stack offline, bundling every function', async () => {
    const out = await operatorSynth();
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
    expect(functions.length).toBe(Object.keys(OPERATION_ACCESS).length + 7 + 1 + 2);
    // (the workflow's six, the capacity watcher, the payment sweeper, the GuardDuty finding
    // function and the blocked-ranges sync)
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
  }, 900_000);
});
