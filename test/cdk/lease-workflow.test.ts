import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Match } from 'aws-cdk-lib/assertions';
import {
  EXTENSION_SIGNAL,
  READY_SIGNAL,
} from '../../lambdas/adapters/workflow/step-functions-lease-workflow.js';
import { WORKFLOW_ERRORS } from '../../lambdas/workflow/workflow-errors.js';
import {
  BOOT_POLL_SECONDS,
  READY_CALLBACK_WAIT_SECONDS,
  STATES,
} from '../../lib/lease-workflow.js';
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

/** The IAM statements attached to the role of the function whose logical id contains `name`. */
function statementsOfFunction(name: string): Record<string, unknown>[] {
  const functions = resourcesOf(template, 'AWS::Lambda::Function');
  const fn = Object.entries(functions).find(
    ([id, resource]) => id.includes(name) && resource.Properties?.Role,
  )?.[1];
  const roleRef = fn?.Properties?.Role as { 'Fn::GetAtt': string[] } | undefined;
  const role = JSON.stringify(roleRef?.['Fn::GetAtt'][0]);
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties?.Roles).includes(role))
    .flatMap(
      (policy) =>
        (policy.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] } | undefined)
          ?.Statement ?? [],
    );
}

describe('the lease state machine', () => {
  it('is a Standard workflow with tracing and logging that carries no state data', () => {
    expect(stateMachine?.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
    });
  });

  it('logs under /aws/vendedlogs/, where Step Functions need not grow the account-wide log resource policy', () => {
    const groups = Object.values(resourcesOf(template, 'AWS::Logs::LogGroup')).map(
      (group) => group.Properties?.LogGroupName,
    );
    expect(groups).toContain('/aws/vendedlogs/states/TestStorefront-leases');
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
        Next: STATES.endLease,
      }),
      // Any other error ends the lease rather than leaving the machine running unwatched.
      expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: STATES.endLease }),
    ]);
    // Starting the clock retries its own failures, but not LeaseNotActive.
    const retriers = definition.States[STATES.startClock]?.Retry as { ErrorEquals: string[] }[];
    const own = retriers.findIndex((retry) => retry.ErrorEquals.includes('States.TaskFailed'));
    expect(retriers[own - 1]).toMatchObject({
      ErrorEquals: [WORKFLOW_ERRORS.leaseNotActive],
      MaxAttempts: 0,
    });
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
      // No callback in time: the fallback polls.
      expect.objectContaining({ ErrorEquals: ['States.Timeout'], Next: STATES.waitForBoot }),
      expect.objectContaining({
        ErrorEquals: [WORKFLOW_ERRORS.leaseNotActive],
        Next: STATES.endLease,
      }),
      expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: STATES.recordLaunchFailure }),
    ]);
  });

  it("launches and waits for the machine's ready callback on one task token, then polls", () => {
    const launch = definition.States[STATES.launch];
    expect(launch?.Resource).toMatch(/lambda:invoke\.waitForTaskToken$/);
    expect(launch?.Parameters.Payload['token.$']).toBe('$$.Task.Token');
    // The provisioning window is 15 minutes here: the wait is the shorter of it and 5 minutes.
    expect(launch?.TimeoutSeconds).toBe(Math.min(READY_CALLBACK_WAIT_SECONDS, 15 * 60));
    expect(launch?.ResultPath).toBe('$.clock');
    const readyOrEnded = definition.States[STATES.readyOrEnded];
    expect(launch?.Next).toBe(STATES.readyOrEnded);
    expect(readyOrEnded?.Choices).toEqual([
      expect.objectContaining({ StringEquals: READY_SIGNAL.reason, Next: STATES.hold }),
      expect.objectContaining({ StringEquals: EXTENSION_SIGNAL.reason, Next: STATES.checkLease }),
    ]);
    expect(readyOrEnded?.Default).toBe(STATES.endLease);
    // A poll that finds the lease already active (a late callback) holds it; it never restarts it.
    expect(definition.States[STATES.machineReady]?.Choices).toContainEqual(
      expect.objectContaining({ StringEquals: 'active', Next: STATES.checkLease }),
    );
  });

  it('ends a lease in one step, and lets no extension in once it is ending', () => {
    const end = definition.States[STATES.endLease];
    expect(end?.Parameters).toMatchObject({ action: 'end_lease' });
    expect(end?.Catch).toEqual([
      expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: STATES.terminationFailed }),
    ]);
    // No state polls EC2 for the shutdown: billing stops at shutting-down.
    expect(JSON.stringify(definition)).not.toContain('aws-sdk:ec2');
    expect(definition.States[STATES.readLease]?.Resource).toMatch(/:states:::dynamodb:getItem$/);
  });

  it('names no partition: every ARN takes it from AWS::Partition', () => {
    const parts = joined?.['Fn::Join'][1] ?? [];
    expect(parts.filter((part) => typeof part === 'string' && /arn:aws[-:]/.test(part))).toEqual(
      [],
    );
    expect(parts).toContainEqual({ Ref: 'AWS::Partition' });
  });

  it('leaves no partition literal in the constructs either', () => {
    const dir = fileURLToPath(new URL('../../lib/', import.meta.url));
    const literals = readdirSync(dir)
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) =>
        (readFileSync(join(dir, file), 'utf8').match(/['"`]arn:aws:[^'"`]*/g) ?? []).map(
          (literal) => `${file}: ${literal}`,
        ),
      );
    expect(literals).toEqual([]);
  });

  it('gives every Task state a catch-all', () => {
    const tasks = Object.entries(definition.States).filter(([, state]) => state.Type === 'Task');
    expect(tasks.length).toBeGreaterThanOrEqual(10);
    const withoutCatchAll = tasks
      .filter(
        ([, state]) =>
          !(state.Catch ?? []).some((rule: { ErrorEquals: string[] }) =>
            rule.ErrorEquals.includes('States.ALL'),
          ),
      )
      .map(([name]) => name);
    expect(withoutCatchAll).toEqual([]);
  });

  it('never leads from ending a lease back into running one, but for a lease End lease found not over', () => {
    // The one way back: End lease closed nothing because an extension paid at the lease's end
    // moved it (its close is conditioned on the end having come); the lease is still active.
    const howItEnded = definition.States[STATES.howItEnded] as State;
    const backToHolding = (howItEnded.Choices as State[]).filter(
      (choice) => choice.Next === STATES.notDueYet,
    );
    expect(backToHolding).toEqual([
      {
        And: [
          { Variable: '$.ended.status', IsPresent: true },
          { Variable: '$.ended.status', StringEquals: 'active' },
        ],
        Next: STATES.notDueYet,
      },
    ]);
    const next = (state: State): string[] => [
      ...(state.Next ? [state.Next] : []),
      ...(state.Default ? [state.Default] : []),
      ...(state.Choices ?? [])
        .map((choice: State) => choice.Next)
        .filter((name: string) => name !== STATES.notDueYet),
      ...(state.Catch ?? []).map((rule: State) => rule.Next),
    ];
    const reachable = (from: string) => {
      const seen = new Set<string>();
      const queue = [from];
      while (queue.length) {
        const name = queue.shift() as string;
        if (seen.has(name)) continue;
        seen.add(name);
        queue.push(...next(definition.States[name] as State));
      }
      return seen;
    };
    const running = [STATES.launch, STATES.checkInstance, STATES.startClock, STATES.hold];
    for (const ending of [
      STATES.endLease,
      STATES.recordLaunchFailure,
      STATES.recordProvisioningFailure,
      STATES.recordProvisioningError,
    ]) {
      const after = reachable(ending);
      expect(running.filter((state) => after.has(state))).toEqual([]);
      // Every way out of the ending passes the terminate.
      expect(after).toContain(STATES.endLease);
    }
    // A failed lease is refunded after its instance is released, so a refund cannot hold it up.
    expect(reachable(STATES.refundPayment)).not.toContain(STATES.endLease);
    expect(reachable(STATES.endLease)).toContain(STATES.refundPayment);
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

  it('cleans up at once after an execution of the lease state machine fails, times out or is aborted', () => {
    const [machineId] = Object.keys(resourcesOf(template, 'AWS::StepFunctions::StateMachine'));
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [{ Ref: machineId }],
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('CleanupLease'), 'Arn'] },
        }),
      ],
    });
  });

  it('alarms on DynamoDB throttles per operation, the only way the metric exists', () => {
    const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).filter((alarm) =>
      JSON.stringify(alarm).includes('ThrottledRequests'),
    );
    expect(alarms).toHaveLength(1);
    const queries = alarms[0]?.Properties?.Metrics as {
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string }[] } };
    }[];
    expect(queries.find((query) => query.Expression)?.Expression).toBe('SUM(FILL(METRICS(), 0))');
    const dimensions = queries
      .filter((query) => query.MetricStat)
      .map((query) => query.MetricStat?.Metric.Dimensions.map((dimension) => dimension.Name));
    expect(dimensions.length).toBeGreaterThanOrEqual(5);
    for (const names of dimensions) expect(names?.sort()).toEqual(['Operation', 'TableName']);
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
    expect(policies).not.toContain('states:SendTaskFailure');
  });

  it("lets the ready endpoint write machine items, read instances' addresses and wake its lease workflow, and nothing else", () => {
    const [machineId] = Object.keys(resourcesOf(template, 'AWS::StepFunctions::StateMachine'));
    const statements = statementsOfFunction('reportMachineReady');
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'states:SendTaskSuccess',
        Effect: 'Allow',
        Resource: { Ref: machineId },
      }),
    );
    const actions = statements.flatMap((statement) =>
      ([] as string[]).concat(statement.Action as string | string[]),
    );
    expect(actions.filter((action) => !/^(xray|logs):/.test(action)).sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'ec2:DescribeInstances',
      'states:SendTaskSuccess',
    ]);
    expect(JSON.stringify(statements)).toContain('MACHINE#');
  });

  it('lets the launch step list instances, to find one an earlier attempt launched', () => {
    const statements = statementsOfFunction('LaunchInstance');
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: expect.arrayContaining(['ec2:DescribeInstances']),
        Effect: 'Allow',
        Resource: '*',
      }),
    );
  });

  it('lets no state of the machine call EC2 itself: the end-lease step terminates', () => {
    const statements = statementsOfFunction('LeaseRecords');
    expect(JSON.stringify(statements)).toContain('ec2:TerminateInstances');
    const machineRole = Object.values(resourcesOf(template, 'AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties?.Roles).includes('StateMachineRole'),
    );
    expect(machineRole.length).toBeGreaterThan(0);
    expect(JSON.stringify(machineRole)).not.toContain('ec2:');
  });
});
