import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { TABLE_DESIGN } from '../lambdas/adapters/dynamodb/table-design.js';
import { apiEnvironmentSchema } from '../lambdas/runtime/environment.js';
import { METRICS_NAMESPACE } from '../lambdas/runtime/metrics.js';
import { SWEEPER_ACCESS, SWEEPER_OPERATION_ID } from '../lambdas/runtime/operation-access.js';
import type { SharedApiEnvironment } from './api-functions.js';
import { seconds, storefrontFunction } from './node-function.js';
import type { PaymentMethodWiring } from './payment-method-wiring.js';

export interface PaymentSweeperProps {
  table: ITable;
  storefrontSecret: ISecret;
  /** The accepted payment methods: it settles and refunds with them. */
  payments: PaymentMethodWiring;
  stateMachine: IStateMachine;
  /** The API functions' environment: the sweeper composes the same storefront. */
  environment: SharedApiEnvironment;
  logRetention: RetentionDays;
  /** Nothing stays in between much longer than this. */
  everyMinutes?: number;
}

/**
 * The payment sweeper: a function on an EventBridge schedule that finishes every payment a
 * request left in between (settle, start the workflow, refund), found through the sweep
 * index, and an alarm when a refund is still owed an hour after it fell due.
 */
export class PaymentSweeper extends Construct {
  readonly function: NodejsFunction;
  readonly refundsOwedAlarm: Alarm;

  constructor(scope: Construct, id: string, props: PaymentSweeperProps) {
    super(scope, id);
    const { stackName } = Stack.of(this);
    this.function = storefrontFunction(this, 'Function', {
      entry: 'lambdas/sweeper/sweep-payments.ts',
      description: 'Finishes payments left in between: settle, start the lease, or refund',
      timeout: seconds(120),
      logRetention: props.logRetention,
      environmentSchema: apiEnvironmentSchema,
      environment: {
        ...props.environment,
        OPERATION_ID: SWEEPER_OPERATION_ID,
        // The dimension its metrics (and the refunds-owed alarm) carry.
        MANAGED_BY: stackName,
        STOREFRONT_SECRET_ARN: props.storefrontSecret.secretArn,
        ...props.payments.environmentFor('charge'),
        STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
      },
    });
    const { table } = SWEEPER_ACCESS;
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: (table?.actions ?? []).map((action) => `dynamodb:${action}`),
        resources: [props.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': {
            'dynamodb:LeadingKeys': (table?.keyPrefixes ?? []).map((prefix) => `${prefix}*`),
          },
        },
      }),
    );
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${props.table.tableArn}/index/${TABLE_DESIGN.sweepIndex.name}`],
      }),
    );
    props.storefrontSecret.grantRead(this.function);
    props.payments.grant(this.function, 'charge');
    props.stateMachine.grantStartExecution(this.function);
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['states:SendTaskSuccess'],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );

    new Rule(this, 'Schedule', {
      description: 'Runs the payment sweeper',
      schedule: Schedule.rate(Duration.minutes(props.everyMinutes ?? 2)),
      targets: [new LambdaFunction(this.function, { retryAttempts: 2 })],
    });

    this.refundsOwedAlarm = new Alarm(this, 'RefundsOwed', {
      alarmDescription:
        'A refund is still owed to an agent more than an hour after it fell due: the payment provider keeps refusing or has not confirmed it',
      metric: new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'RefundsOwedOverAnHour',
        dimensionsMap: { Stack: stackName },
        statistic: 'Maximum',
        period: Duration.minutes(15),
      }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
