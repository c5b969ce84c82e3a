import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cdkJsonContext } from '../../lib/config.js';

const exec = promisify(execFile);

async function cfnLintVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await exec('cfn-lint', ['--version']);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/**
 * Synthesises every stack of the CDK app as `cdk synth` does (cdk.json's context, the app
 * entry point, cdk-nag), skipping only the bundling of function code, which cfn-lint does
 * not read. Returns the template files.
 */
async function synthesiseTemplates(overrides: Record<string, unknown>): Promise<string[]> {
  const out = mkdtempSync(join(tmpdir(), 'storefront-cfn-lint-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CDK_OUTDIR: out,
    CDK_CONTEXT_JSON: JSON.stringify({
      ...cdkJsonContext(),
      ...overrides,
      'aws:cdk:bundling-stacks': [],
    }),
  };
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'])
    delete env[name];
  try {
    await exec('npx', ['tsx', 'bin/storefront-app.ts'], { env, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`synth failed:\n${`${stdout}\n${stderr}`.slice(-6000)}`);
  }
  return readdirSync(out)
    .filter((file) => file.endsWith('.template.json'))
    .sort()
    .map((file) => join(out, file));
}

async function cfnLint(templates: string[]): Promise<string> {
  try {
    await exec('cfn-lint', ['--config-file', '.cfnlintrc', '--format', 'parseable', ...templates]);
    return '';
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    return `${stdout}${stderr}`.trim() || String(error);
  }
}

/**
 * cfn-lint (AWS's CloudFormation linter) on every synthesised template: no errors, and no
 * warning that .cfnlintrc does not acknowledge with a reason. CI requires cfn-lint
 * (.ci/run sets CFN_LINT_REQUIRED); elsewhere a missing cfn-lint is reported and skipped.
 */
describe('cfn-lint on the synthesised templates', () => {
  let version: string | undefined;
  beforeAll(async () => {
    version = await cfnLintVersion();
    if (!version) {
      if (process.env.CFN_LINT_REQUIRED) throw new Error('cfn-lint is required here but missing');
      console.warn(
        'SKIPPED: cfn-lint is not installed, so the synthesised templates were NOT linted (pip install cfn-lint).',
      );
    }
  });

  it.each([
    ['the default configuration', {}],
    [
      'Stripe in test mode, a custom domain, an alarm address and test payments',
      {
        'storefront:stripeSecretName': 'storefront/stripe',
        'storefront:stripeNetworkId': 'profile_123',
        'storefront:stripeTestMode': true,
        'storefront:domainName': 'compute.example.com',
        'storefront:certificateArn': 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
        'storefront:alarmEmail': 'ops@example.com',
        'storefront:testPayments': true,
      },
    ],
  ])(
    'finds nothing with %s',
    async (_name, overrides) => {
      if (!version) return;
      const templates = await synthesiseTemplates(overrides);
      // The storefront stack and its us-east-1 stack (Lambda@Edge functions, WAF web ACL).
      expect(templates.map((file) => file.split('/').pop())).toEqual([
        'AgenticComputeStorefront-us-east-1.template.json',
        'AgenticComputeStorefront.template.json',
      ]);
      expect(await cfnLint(templates)).toBe('');
    },
    300_000,
  );
});
