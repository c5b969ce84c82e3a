import { Duration } from 'aws-cdk-lib';
import type { RestApiBase } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../lambdas/runtime/metrics.js';

/** The DynamoDB operations the storefront's code sends (no scans, batches or transactions). */
export const TABLE_OPERATIONS = [
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
] as const;

export interface MonitoringProps {
  api: RestApiBase;
  stageName: string;
  functions: NodejsFunction[];
  table: Table;
  stateMachine: StateMachine;
  alarmEmail?: string;
}

/**
 * The alarms an operator needs (server errors, function failures and throttles, table
 * throttles, failed leases, instances the reconciler had to kill) on one SNS topic, and
 * a dashboard of the same.
 */
export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Alarms', {
      displayName: 'Agentic Compute Storefront alarms',
      enforceSSL: true,
    });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    const alarm = (name: string, props2: ConstructorParameters<typeof Alarm>[2]) => {
      const created = new Alarm(this, name, props2);
      created.addAlarmAction(new SnsAction(this.topic));
      this.alarms.push(created);
      return created;
    };
    const five = Duration.minutes(5);
    const apiMetric = (metricName: string) =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiName: props.api.restApiName, Stage: props.stageName },
        statistic: 'Sum',
        period: five,
      });

    const serverErrorRate = new MathExpression({
      label: '5XX rate (%)',
      expression: 'IF(requests >= 20, 100 * errors / requests, 0)',
      usingMetrics: { errors: apiMetric('5XXError'), requests: apiMetric('Count') },
      period: five,
    });
    alarm('Api5xxRate', {
      alarmDescription: 'More than 2% of API requests failed with a server error over 10 minutes',
      metric: serverErrorRate,
      threshold: 2,
      evaluationPeriods: 2,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // One alarm per function (CloudWatch math alarms take at most 10 metrics), naming the culprit.
    for (const fn of props.functions) {
      alarm(`${fn.node.id}Failing`, {
        alarmDescription: `${fn.node.path}: errors or throttles`,
        metric: new MathExpression({
          label: 'errors + throttles',
          expression: 'errors + throttles',
          usingMetrics: {
            errors: fn.metricErrors({ period: five, statistic: 'Sum' }),
            throttles: fn.metricThrottles({ period: five, statistic: 'Sum' }),
          },
          period: five,
        }),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    // DynamoDB publishes ThrottledRequests per table *and operation* (DynamoDB developer
    // guide, "DynamoDB Metrics and dimensions": ThrottledRequests, "Dimensions: TableName,
    // Operation"); no series exists for TableName alone, so an alarm on it never fires.
    // One metric per operation the storefront uses, summed into one series. Not SEARCH: "You
    // can't create an alarm based on the SEARCH expression. This is because search
    // expressions can return multiple time series, and an alarm based on a math expression
    // can only watch one time series" (CloudWatch user guide, "Using search expressions in
    // graphs"). An alarm's math takes at most 10 metrics; five are used.
    const throttles = Object.fromEntries(
      TABLE_OPERATIONS.map((operation) => [
        operation.charAt(0).toLowerCase() + operation.slice(1),
        new Metric({
          namespace: 'AWS/DynamoDB',
          metricName: 'ThrottledRequests',
          dimensionsMap: { TableName: props.table.tableName, Operation: operation },
          statistic: 'Sum',
          period: five,
        }),
      ]),
    );
    alarm('TableThrottles', {
      alarmDescription: 'DynamoDB throttled storefront requests',
      metric: new MathExpression({
        label: 'throttled requests (all operations)',
        // An operation without throttles has no data points: count them as 0 before summing.
        expression: 'SUM(FILL(METRICS(), 0))',
        usingMetrics: throttles,
        period: five,
      }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm('LeaseExecutionsFailed', {
      alarmDescription:
        'Lease workflows failed (provisioning failures, or an instance that would not terminate)',
      metric: props.stateMachine.metricFailed({ period: five, statistic: 'Sum' }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm('LeaseExecutionsTimedOut', {
      alarmDescription: 'A lease workflow ran out of time; the reconciler will end its machine',
      metric: props.stateMachine.metricTimedOut({ period: five, statistic: 'Sum' }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const orphans = new Metric({
      namespace: METRICS_NAMESPACE,
      metricName: 'OrphanInstancesTerminated',
      dimensionsMap: { Stack: props.api.stack.stackName },
      statistic: 'Sum',
      period: five,
    });
    alarm('OrphanInstances', {
      alarmDescription:
        'The reconciler terminated instances that outlived their lease: the workflow missed something',
      metric: orphans,
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${props.api.stack.stackName}-storefront`,
    });
    dashboard.addWidgets(
      new GraphWidget({
        title: 'API requests and errors',
        left: [apiMetric('Count'), apiMetric('4XXError'), apiMetric('5XXError')],
      }),
      new GraphWidget({
        title: 'API latency (p99)',
        left: [
          new Metric({
            namespace: 'AWS/ApiGateway',
            metricName: 'Latency',
            dimensionsMap: { ApiName: props.api.restApiName, Stage: props.stageName },
            statistic: 'p99',
            period: five,
          }),
        ],
      }),
      new GraphWidget({
        title: 'Leases',
        left: [
          props.stateMachine.metricStarted({ period: five }),
          props.stateMachine.metricSucceeded({ period: five }),
          props.stateMachine.metricFailed({ period: five }),
        ],
      }),
      new GraphWidget({ title: 'Orphan instances terminated', left: [orphans] }),
    );
  }
}
