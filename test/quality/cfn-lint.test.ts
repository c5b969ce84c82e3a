import { execFile } from 'node:child_process';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { synthesisedTemplates, templateFiles } from '../support/synthesised-app.js';

const exec = promisify(execFile);

async function cfnLintVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await exec('cfn-lint', ['--version']);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** cfn-lint's findings, one per line (`--format parseable` starts each with its template's path). */
async function cfnLint(templates: string[]): Promise<string[]> {
  try {
    await exec('cfn-lint', ['--config-file', '.cfnlintrc', '--format', 'parseable', ...templates]);
    return [];
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    const lines = `${stdout}${stderr}`.trim().split('\n').filter(Boolean);
    return lines.length ? lines : [String(error)];
  }
}

const CONFIGURATIONS: [string, () => Promise<string>][] = [
  // cdk.json's configuration through the app's entry point, as the operator's `cdk synth`
  // (test/quality/cdk-synth.test.ts) writes it but for the function bundles, which cfn-lint
  // does not read: so the lint need not wait for every function to be bundled.
  ['the default configuration', () => synthesisedTemplates({})],
  [
    'Stripe in test mode, a custom domain, an alarm address and test payments',
    () =>
      synthesisedTemplates({
        'storefront:stripeSecretName': 'storefront/stripe',
        'storefront:stripeNetworkId': 'profile_123',
        'storefront:stripeTestMode': true,
        'storefront:domainName': 'compute.example.com',
        'storefront:certificateArn': 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
        'storefront:alarmEmail': 'ops@example.com',
        'storefront:testPayments': true,
      }),
  ],
];

/**
 * cfn-lint (AWS's CloudFormation linter) on every synthesised template: no errors, and no
 * warning that .cfnlintrc does not acknowledge with a reason. CI requires cfn-lint
 * (.ci/run sets CFN_LINT_REQUIRED); elsewhere a missing cfn-lint is reported and skipped.
 * One cfn-lint run reads the templates of every configuration (its start-up is most of a run);
 * each configuration's test then takes the findings about its own templates, and any finding
 * about none of them.
 */
describe('cfn-lint on the synthesised templates', () => {
  let version: string | undefined;
  const templates = new Map<string, string[]>();
  let findings: string[] = [];
  beforeAll(async () => {
    version = await cfnLintVersion();
    if (!version) {
      if (process.env.CFN_LINT_REQUIRED) throw new Error('cfn-lint is required here but missing');
      console.warn(
        'SKIPPED: cfn-lint is not installed, so the synthesised templates were NOT linted (pip install cfn-lint).',
      );
      return;
    }
    const outs = await Promise.all(CONFIGURATIONS.map(([, synthesise]) => synthesise()));
    CONFIGURATIONS.forEach(([name], index) => {
      templates.set(name, templateFiles(outs[index] ?? ''));
    });
    findings = await cfnLint([...templates.values()].flat());
  }, 900_000);

  it.each(CONFIGURATIONS.map(([name]) => [name]))('finds nothing with %s', (name) => {
    if (!version) return;
    const own = templates.get(name) ?? [];
    // The storefront stack and its us-east-1 stack (Lambda@Edge functions, WAF web ACL).
    expect(own.map((file) => basename(file))).toEqual([
      'AgenticComputeStorefront-us-east-1.template.json',
      'AgenticComputeStorefront.template.json',
    ]);
    const everyTemplate = [...templates.values()].flat();
    const about = (line: string, files: string[]) =>
      files.some((file) => line.startsWith(`${file}:`));
    expect(
      findings.filter((line) => about(line, own) || !about(line, everyTemplate)).join('\n'),
    ).toBe('');
  });
});
