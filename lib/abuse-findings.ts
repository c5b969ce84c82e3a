import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type EventPattern, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { CfnDetector } from 'aws-cdk-lib/aws-guardduty';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { INSTANCE_TAGS } from '../lambdas/adapters/ec2/instance-tags.js';
import { findingEnvironmentSchema } from '../lambdas/runtime/abuse-environment.js';
import { METRICS_NAMESPACE } from '../lambdas/runtime/metrics.js';
import { FINDING_ACCESS } from '../lambdas/runtime/operation-access.js';
import { seconds, storefrontFunction } from './node-function.js';
import type { PublicUrl } from './public-url.js';
import { tableItemsUnder } from './table-policies.js';

export interface FindingSelection {
  /** Finding types, or their starts (`CryptoCurrency:EC2/`). */
  types: readonly string[];
  minSeverity: number;
}

export interface AbuseFindingsProps {
  table: ITable;
  stateMachine: IStateMachine;
  publicUrl: PublicUrl;
  productCatalogJson: string;
  findings: FindingSelection;
  /** `create`: enable GuardDuty in this account and region with the stack. */
  detector: 'create' | 'existing';
  /** Whether a created detector outlives the stack (`storefront:removalPolicy`). */
  retain: boolean;
  logRetention: RetentionDays;
}

/**
 * The EventBridge pattern of the findings acted on. GuardDuty sends each finding to the
 * default bus as `"source": "aws.guardduty"`, `"detail-type": "GuardDuty Finding"` (EventBridge
 * events reference, "Amazon GuardDuty events"); the pattern keeps instance findings of the
 * configured types ("Prefix matching … You can use prefix matching for string values") and
 * severities ("A field of the event is within a specific numeric range"; EventBridge user
 * guide, "Content filtering in Amazon EventBridge event patterns"). The function judges each
 * event again with the same configuration, so the pattern only saves invocations.
 */
export function findingPattern(findings: FindingSelection): EventPattern {
  return {
    source: ['aws.guardduty'],
    detailType: ['GuardDuty Finding'],
    detail: {
      type: findings.types.map((prefix) => ({ prefix })),
      severity: [{ numeric: ['>=', findings.minSeverity] }],
      resource: { resourceType: ['Instance'] },
    },
  };
}

/**
 * The GuardDuty protection plans a created detector leaves off. "When you don't specify any
 * features, with an exception to RUNTIME_MONITORING, all the optional features are enabled by
 * default" (GuardDuty API reference, CreateDetector), and each is billed on its own volume.
 * The findings acted on here (EC2 mining, backdoors, trojans, port scans, unauthorised access)
 * come from the foundational data sources, VPC flow logs and DNS logs, which need no plan:
 * "After you enable GuardDuty in your AWS account, it automatically starts to monitor the log
 * sources … You don't need to enable anything else" (GuardDuty user guide, "GuardDuty
 * foundational data sources"). Runtime Monitoring (`CryptoCurrency:Runtime/…`) would need an
 * agent on the machines, which the storefront does not install.
 */
export const PLANS_LEFT_OFF = [
  'S3_DATA_EVENTS',
  'EKS_AUDIT_LOGS',
  'EBS_MALWARE_PROTECTION',
  'RDS_LOGIN_EVENTS',
  'LAMBDA_NETWORK_LOGS',
  'RUNTIME_MONITORING',
] as const;

/**
 * Abuse noticed without a person: GuardDuty findings about a lease's instance, delivered by an
 * EventBridge rule to a function that ends the lease for cause and blocks its key. A finding
 * is not lost when the function fails: EventBridge retries delivery for a day and Lambda
 * retries the function twice, then both send it to one dead-letter queue with an alarm.
 */
export class AbuseFindings extends Construct {
  readonly function: NodejsFunction;
  readonly deadLetters: Queue;
  readonly actedOnAlarm: Alarm;
  readonly deadLettersAlarm: Alarm;
  readonly detector?: CfnDetector;

  constructor(scope: Construct, id: string, props: AbuseFindingsProps) {
    super(scope, id);
    const { stackName } = Stack.of(this);
    if (props.detector === 'create') {
      // "You can have only one detector per account per Region" (CreateDetector): `npm run
      // preflight` refuses `create` where the account has one (bin/preflight-checks.ts).
      this.detector = new CfnDetector(this, 'Detector', {
        enable: true,
        findingPublishingFrequency: 'FIFTEEN_MINUTES',
        features: PLANS_LEFT_OFF.map((name) => ({ name, status: 'DISABLED' })),
        // How `npm run preflight` tells this stack's detector from another one.
        tags: [{ key: INSTANCE_TAGS.managedBy, value: stackName }],
      });
      this.detector.applyRemovalPolicy(props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);
    }

    this.function = storefrontFunction(this, 'ActOnFinding', {
      entry: 'lambdas/abuse/act-on-finding.ts',
      description: 'Ends the lease a GuardDuty finding is about for cause and blocks its SSH key',
      timeout: seconds(60),
      logRetention: props.logRetention,
      environmentSchema: findingEnvironmentSchema,
      environment: {
        TABLE_NAME: props.table.tableName,
        PRODUCT_CATALOG: props.productCatalogJson,
        MANAGED_BY: stackName,
        STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
        PUBLIC_URL_PARAMETER: props.publicUrl.parameterName,
        FINDING_TYPE_PREFIXES: JSON.stringify(props.findings.types),
        FINDING_MIN_SEVERITY: String(props.findings.minSeverity),
      },
    });
    for (const grant of FINDING_ACCESS.table)
      this.function.addToRolePolicy(tableItemsUnder(props.table, grant.actions, grant.keyPrefixes));
    props.publicUrl.grantRead(this.function);
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['states:SendTaskSuccess'],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );

    this.deadLetters = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "It is a dead-letter queue: of the finding rule's target and of the function's asynchronous invocations (cdk-nag recognises only SQS redrive policies).",
    });
    // Function errors: "If the function returns an error, by default Lambda attempts to run it
    // two more times", and throttled events are kept "for up to 6 hours by default" (Lambda
    // developer guide, "How Lambda handles errors and retries with asynchronous invocation");
    // then the event goes to the queue instead of being dropped.
    this.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.deadLetters),
    });
    // Delivery failures: EventBridge invokes Lambda asynchronously, so its retry policy covers
    // handing the event to Lambda ("By default, EventBridge retries sending the event for 24
    // hours and up to 185 times"; "If an event isn't delivered after all retry attempts are
    // exhausted, the event is dropped": EventBridge user guide, "How EventBridge retries
    // delivering events"), and the dead-letter queue keeps what it could not deliver.
    new Rule(this, 'Findings', {
      description: 'GuardDuty findings about instances, of the types and severities acted on',
      eventPattern: findingPattern(props.findings),
      targets: [
        new LambdaFunction(this.function, {
          deadLetterQueue: this.deadLetters,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    this.actedOnAlarm = new Alarm(this, 'ActedOn', {
      alarmDescription:
        'A GuardDuty finding ended a lease for cause and blocked its SSH key: look at the finding (abuse report may follow)',
      metric: new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'AbuseFindingsActedOn',
        dimensionsMap: { Stack: stackName },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.deadLettersAlarm = new Alarm(this, 'FindingsNotActedOn', {
      alarmDescription:
        'A GuardDuty finding could not be acted on after every retry and waits in the dead-letter queue: act by hand (npm run operator -- end / block), then purge it',
      metric: this.deadLetters.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: Duration.minutes(5),
      }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
