import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import {
  type DeployTarget,
  synthesisedTemplates,
  TEST_ACCOUNT,
  templateFiles,
} from '../support/synthesised-app.js';

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

/** Regions the stacks are synthesised for, as `cdk deploy` would deploy them there. */
const US_EAST_1 = { account: TEST_ACCOUNT, region: 'us-east-1' };
const EU_WEST_1 = { account: TEST_ACCOUNT, region: 'eu-west-1' };
const AP_NORTHEAST_1 = { account: TEST_ACCOUNT, region: 'ap-northeast-1' };

const EVERY_OPTION = {
  'storefront:stripeSecretName': 'storefront/stripe',
  'storefront:stripeNetworkId': 'profile_123',
  'storefront:stripeTestMode': true,
  'storefront:domainName': 'compute.example.com',
  'storefront:certificateArn': 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
  'storefront:alarmEmail': 'ops@example.com',
  'storefront:testPayments': true,
  'storefront:guardDutyDetector': 'create',
};

/**
 * The app synthesised exactly as `cdk deploy` and `cdk bootstrap` synthesise it: the CDK CLI
 * with credentials gives it their account and region, so ARNs are literals and the VPC's
 * zones are looked up (test/support/synthesised-app.ts). cdk.json's configuration in three
 * regions (one being us-east-1, where the storefront and its us-east-1 stack share a region),
 * every option in the third. The environment-agnostic `cdk synth` of a fresh clone is
 * test/quality/cdk-synth.test.ts's, with cdk-nag too. Function bundles are skipped: cfn-lint
 * does not read them, and the lint need not wait for every function to be bundled.
 */
const CONFIGURATIONS: [string, DeployTarget, Record<string, unknown>][] = [
  ['the default configuration in us-east-1', US_EAST_1, {}],
  ['the default configuration in eu-west-1', EU_WEST_1, {}],
  [
    'Stripe in test mode, a custom domain, an alarm address, test payments and a GuardDuty detector in ap-northeast-1',
    AP_NORTHEAST_1,
    EVERY_OPTION,
  ],
];

/** The validation report cdk-nag writes its findings into (aws-cdk-lib's policy validation). */
interface ValidationReport {
  pluginReports: { pluginName: string; violations: { ruleName: string; severity: string }[] }[];
}

/**
 * cdk-nag (AwsSolutions) and cfn-lint (AWS's CloudFormation linter) on every template synthesised
 * as `cdk deploy` does: no cdk-nag finding left unacknowledged (errors fail the synth itself,
 * warnings are read from its report), no cfn-lint error, and no cfn-lint warning that .cfnlintrc
 * or a resource's cfn-lint metadata does not acknowledge with a reason. CI requires cfn-lint
 * (.ci/run sets CFN_LINT_REQUIRED); elsewhere a missing cfn-lint is reported and that check skipped.
 * One cfn-lint run reads the templates of every configuration (its start-up is most of a run);
 * each configuration's test then takes the findings about its own templates, and any finding
 * about none of them.
 */
describe('the templates `cdk deploy` synthesises', () => {
  let version: string | undefined;
  const outs = new Map<string, string>();
  const templates = new Map<string, string[]>();
  let findings: string[] = [];
  beforeAll(async () => {
    version = await cfnLintVersion();
    if (!version) {
      if (process.env.CFN_LINT_REQUIRED) throw new Error('cfn-lint is required here but missing');
      console.warn(
        'SKIPPED: cfn-lint is not installed, so the synthesised templates were NOT linted (pip install cfn-lint).',
      );
    }
    const synthesised = await Promise.all(
      CONFIGURATIONS.map(([, target, overrides]) => synthesisedTemplates(overrides, target)),
    );
    CONFIGURATIONS.forEach(([name], index) => {
      const out = synthesised[index] ?? '';
      outs.set(name, out);
      templates.set(name, templateFiles(out));
    });
    if (version) findings = await cfnLint([...templates.values()].flat());
  }, 900_000);

  it.each(CONFIGURATIONS.map(([name, target]) => [name, target] as const))(
    'are synthesised for their account and region with %s, cdk-nag finding nothing unacknowledged',
    (name, target) => {
      const out = outs.get(name) ?? '';
      const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
        artifacts: Record<string, { type: string; environment?: string }>;
      };
      const environments = Object.fromEntries(
        Object.entries(manifest.artifacts)
          .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
          .map(([id, artifact]) => [id, artifact.environment]),
      );
      expect(environments).toEqual({
        AgenticComputeStorefront: `aws://${target.account}/${target.region}`,
        'AgenticComputeStorefront-us-east-1': `aws://${target.account}/us-east-1`,
      });
      // The machine policies name the account and region literally, as on a deploy.
      expect(readFileSync(join(out, 'AgenticComputeStorefront.template.json'), 'utf8')).toContain(
        `"arn:aws:ec2:${target.region}:${target.account}:instance/*"`,
      );
      const report = JSON.parse(
        readFileSync(join(out, 'validation-report.json'), 'utf8'),
      ) as ValidationReport;
      const nagFindings = report.pluginReports
        .filter((plugin) => plugin.pluginName === 'AwsSolutions')
        .flatMap((plugin) => plugin.violations.map((v) => `${v.severity} ${v.ruleName}`));
      expect(nagFindings).toEqual([]);
    },
  );

  it.each(CONFIGURATIONS.map(([name]) => [name]))('cfn-lint finds nothing with %s', (name) => {
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
