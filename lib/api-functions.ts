import { Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { KEY_PREFIX } from '../lambdas/adapters/dynamodb/table-design.js';
import { loadOpenApiDocument, operationsOf } from '../lambdas/contract/openapi-document.js';
import {
  type ApiFunctionEnvironment,
  apiEnvironmentSchema,
} from '../lambdas/runtime/environment.js';
import { OPERATION_ACCESS } from '../lambdas/runtime/operation-access.js';
import { seconds, storefrontFunction } from './node-function.js';
import type { PaymentMethodWiring } from './payment-method-wiring.js';
import type { PublicUrl } from './public-url.js';
import { liveLeasesQuery, tableItemsUnder } from './table-policies.js';

export interface ApiFunctionsProps {
  table: ITable;
  storefrontSecret: ISecret;
  /** The accepted payment methods: the operations that take payments get their secrets. */
  payments: PaymentMethodWiring;
  stateMachine: IStateMachine;
  /** Read by the operations granted `publicUrl`. */
  publicUrl: PublicUrl;
  /** Environment shared by every API function (configuration, never secrets). */
  environment: SharedApiEnvironment;
  /** The operator's acceptable-use text, for the operation that serves it (none: built-in). */
  acceptableUsePolicy?: string;
  logRetention: RetentionDays;
}

/** What every API function is given alike; the rest depends on the operation's grants. */
export type SharedApiEnvironment = Omit<
  ApiFunctionEnvironment,
  | 'OPERATION_ID'
  | 'STOREFRONT_SECRET_ARN'
  | 'STATE_MACHINE_ARN'
  | 'PUBLIC_URL_PARAMETER'
  | 'ACCEPTABLE_USE_POLICY'
>;

/**
 * One function per operationId of openapi.json, from lambdas/api/<operationId>.ts, each
 * granted exactly what OPERATION_ACCESS lists for it.
 */
export class ApiFunctions extends Construct {
  readonly byOperation: Record<string, NodejsFunction> = {};

  constructor(scope: Construct, id: string, props: ApiFunctionsProps) {
    super(scope, id);
    for (const { operationId, method, path } of operationsOf(loadOpenApiDocument())) {
      const access = OPERATION_ACCESS[operationId];
      if (!access)
        throw new Error(
          `no access rules for operation ${operationId} (lambdas/runtime/operation-access.ts)`,
        );
      const fn = storefrontFunction(this, operationId, {
        entry: `lambdas/api/${operationId}.ts`,
        description: `${method.toUpperCase()} ${path} (${operationId})`,
        // API Gateway gives up after 29 s; the payment lock (60 s) outlasts this.
        timeout: seconds(28),
        logRetention: props.logRetention,
        environmentSchema: apiEnvironmentSchema,
        environment: {
          ...props.environment,
          OPERATION_ID: operationId,
          ...(access.secrets.includes('storefront')
            ? { STOREFRONT_SECRET_ARN: props.storefrontSecret.secretArn }
            : {}),
          ...(access.takesPayments ? props.payments.environmentFor('charge') : {}),
          ...(access.workflow ? { STATE_MACHINE_ARN: props.stateMachine.stateMachineArn } : {}),
          ...(access.publicUrl ? { PUBLIC_URL_PARAMETER: props.publicUrl.parameterName } : {}),
          ...(access.acceptableUsePolicy && props.acceptableUsePolicy
            ? { ACCEPTABLE_USE_POLICY: props.acceptableUsePolicy }
            : {}),
        },
      });
      if (access.publicUrl) props.publicUrl.grantRead(fn);
      // DescribeInstances has no resource-level permissions: '*' is the only resource it takes.
      if (access.instances)
        fn.addToRolePolicy(
          new PolicyStatement({ actions: ['ec2:DescribeInstances'], resources: ['*'] }),
        );
      if (access.table)
        fn.addToRolePolicy(
          tableItemsUnder(props.table, access.table.actions, access.table.keyPrefixes),
        );
      if (access.secrets.includes('storefront')) props.storefrontSecret.grantRead(fn);
      if (access.takesPayments) props.payments.grant(fn, 'charge');
      if (access.workflow?.includes('start')) props.stateMachine.grantStartExecution(fn);
      if (access.workflow?.includes('wake')) {
        fn.addToRolePolicy(
          new PolicyStatement({
            actions: ['states:SendTaskSuccess'],
            resources: [props.stateMachine.stateMachineArn],
          }),
        );
      }
      if (access.capacitySnapshots)
        fn.addToRolePolicy(tableItemsUnder(props.table, ['GetItem'], [KEY_PREFIX.capacity]));
      if (access.blocks) {
        fn.addToRolePolicy(tableItemsUnder(props.table, ['GetItem', 'Query'], [KEY_PREFIX.block]));
        for (const statement of liveLeasesQuery(props.table)) fn.addToRolePolicy(statement);
      }
      this.byOperation[operationId] = fn;
    }
  }

  /** The Lambda invocation URI API Gateway calls for each operation. */
  integrations(): Record<string, { uri: string }> {
    const { partition, region } = Stack.of(this);
    return Object.fromEntries(
      Object.entries(this.byOperation).map(([operationId, fn]) => [
        operationId,
        {
          uri: `arn:${partition}:apigateway:${region}:lambda:path/2015-03-31/functions/${fn.functionArn}/invocations`,
        },
      ]),
    );
  }
}
