import { Match } from 'aws-cdk-lib/assertions';
import { WORKFLOW_ERRORS } from '../../lambdas/workflow/workflow-errors.js';
import { BOOT_POLL_SECONDS, STATES } from '../../lib/lease-workflow.js';
import { resourcesOf, storefrontStack } from '../support/stack.js';

const { template } = storefrontStack({ 'storefront:testPayments': true });
const [stateMachine] = Object.values(resourcesOf(template, 'AWS::StepFunctions::StateMachine'));

/** The definition with intrinsics replaced by placeholders: enough to read its structure. */
// biome-ignore lint/suspicious/noExplicitAny: the ASL document is read loosely in assertions
type State = Record<string, any>;
const joined = stateMachine?.Properties?.DefinitionString as
  | { 'Fn::Join': [string, unknown[]] }
  | undefined;
const definition = JSON.parse(
  (joined?.['Fn::Join'][1] ?? []).map((part) => (typeof part === 'string' ? part : 'X')).join(''),
) as { QueryLanguage?: string; States: Record<string, State> };

describe('the lease state machine', () => {
  it('is a Standard workflow with tracing and logging that carries no state data', () => {
    expect(stateMachine?.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
    });
  });

  it('uses JSONPath only and names its states after the lease story', () => {
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(JSON.stringify(definition)).not.toContain('{%');
    expect(Object.keys(definition.States).sort()).toEqual(Object.values(STATES).sort());
  });

  it('holds a lease on a callback task whose timeout is the lease clock the previous step computed', () => {
    const hold = definition.States[STATES.hold];
    expect(hold?.Resource).toMatch(/lambda:invoke\.waitForTaskToken$/);
    expect(hold?.TimeoutSecondsPath).toBe('$.clock.seconds_remaining');
    expect(hold?.Parameters.Payload['token.$']).toBe('$$.Task.Token');
    expect(definition.States[STATES.startClock]?.ResultPath).toBe('$.clock');
    expect(definition.States[STATES.checkLease]?.ResultPath).toBe('$.clock');
    expect(hold?.Catch).toEqual([
      expect.objectContaining({ ErrorEquals: ['States.Timeout'], Next: STATES.checkLease }),
      expect.objectContaining({
        ErrorEquals: [WORKFLOW_ERRORS.leaseNotActive],
        Next: STATES.markTerminating,
      }),
    ]);
  });

  it('retries throttled and capacity-starved launches, and records any other launch failure', () => {
    const launch = definition.States[STATES.launch];
    const retried = launch?.Retry.map((retry: { ErrorEquals: string[] }) => retry.ErrorEquals[0]);
    expect(retried).toEqual(
      expect.arrayContaining([
        WORKFLOW_ERRORS.launchThrottled,
        WORKFLOW_ERRORS.capacityUnavailable,
      ]),
    );
    expect(launch?.Catch).toEqual([
      expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: STATES.recordLaunchFailure }),
    ]);
  });

  it('talks to EC2 and DynamoDB through service integrations where no logic is needed', () => {
    expect(definition.States[STATES.terminateInstance]?.Resource).toBe(
      'arn:aws:states:::aws-sdk:ec2:terminateInstances',
    );
    expect(definition.States[STATES.checkShutdown]?.Resource).toBe(
      'arn:aws:states:::aws-sdk:ec2:describeInstances',
    );
    expect(definition.States[STATES.readLease]?.Resource).toMatch(/:states:::dynamodb:getItem$/);
    expect(definition.States[STATES.markTerminating]?.Resource).toMatch(
      /:states:::dynamodb:updateItem$/,
    );
    expect(definition.States[STATES.markTerminating]?.Parameters.ConditionExpression).toBe(
      '#status IN (:provisioning, :active)',
    );
  });

  it('polls provisioning only while it lasts', () => {
    expect(definition.States[STATES.waitForBoot]?.Seconds).toBe(BOOT_POLL_SECONDS);
  });

  it('bounds an execution by the longest lease plus provisioning', () => {
    expect(definition).toHaveProperty('TimeoutSeconds', (360 + 15 + 60) * 60);
  });
});

describe('compute for leased machines', () => {
  it('uses public subnets in several zones and no NAT gateway', () => {
    expect(Object.keys(resourcesOf(template, 'AWS::EC2::NatGateway'))).toHaveLength(0);
    expect(Object.keys(resourcesOf(template, 'AWS::EC2::Subnet')).length).toBeGreaterThanOrEqual(2);
    template.hasResourceProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: true });
  });

  it('lets only SSH in', () => {
    const groups = Object.values(resourcesOf(template, 'AWS::EC2::SecurityGroup')).filter((group) =>
      String(group.Properties?.GroupDescription).startsWith('Leased machines'),
    );
    expect(groups).toHaveLength(1);
    const ingress = groups[0]?.Properties?.SecurityGroupIngress as {
      FromPort: number;
      ToPort: number;
      IpProtocol: string;
    }[];
    expect(
      ingress.map(({ FromPort, ToPort, IpProtocol }) => [IpProtocol, FromPort, ToPort]),
    ).toEqual([
      ['tcp', 22, 22],
      ['tcp', 22, 22],
    ]);
  });

  it.each([
    ['bare-linux-machine', 't3.medium', 'canonical/ubuntu/server/24.04'],
    ['gpu-h100-machine', 'p5.4xlarge', 'deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu'],
  ])('launches %s from a hardened template (%s)', (product, instanceType, image) => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateName: `TestStorefront-${product}`,
      LaunchTemplateData: Match.objectLike({
        InstanceType: instanceType,
        ImageId: Match.stringLikeRegexp(`^resolve:ssm:/aws/service/${image}`),
        MetadataOptions: Match.objectLike({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 }),
        InstanceInitiatedShutdownBehavior: 'terminate',
        BlockDeviceMappings: [
          Match.objectLike({
            Ebs: Match.objectLike({ Encrypted: true, DeleteOnTermination: true }),
          }),
        ],
        IamInstanceProfile: Match.absent(),
      }),
    });
  });

  it('runs the reconciler on a schedule', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ReconcileFleet'), 'Arn'] },
        }),
      ],
    });
  });

  it('lets the API start leases and wake them, nothing more', () => {
    const policies = JSON.stringify(resourcesOf(template, 'AWS::IAM::Policy'));
    expect(policies).toContain('states:StartExecution');
    expect(policies).toContain('states:SendTaskSuccess');
    expect(policies).not.toContain('states:StopExecution');
  });
});
