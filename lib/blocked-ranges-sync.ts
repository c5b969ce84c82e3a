import { Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { blockedRangesEnvironmentSchema } from '../lambdas/runtime/abuse-environment.js';
import { BLOCKED_RANGES_ACCESS } from '../lambdas/runtime/operation-access.js';
import { acknowledgeWildcardResource } from './nag-suppressions.js';
import { seconds, storefrontFunction } from './node-function.js';
import { tableItemsUnder } from './table-policies.js';
import { blockedClientIpSetArns, WEB_ACL_REGION } from './waf.js';

export interface BlockedRangesSyncProps {
  table: ITable;
  /** The us-east-1 parameter naming the IP sets (lib/waf.ts, publishWebAcl). */
  ipSetsParameterName: string;
  logRetention: RetentionDays;
}

/**
 * Keeps the front door's blocked-client IP sets (in us-east-1, with the web ACL) equal to the
 * table's client-range blocks in force: every minute, so an expired block leaves the WAF within
 * a minute of lapsing; the operator command also syncs at once after each block and unblock.
 */
export class BlockedRangesSync extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: BlockedRangesSyncProps) {
    super(scope, id);
    const { partition, account } = Stack.of(this);
    this.function = storefrontFunction(this, 'SyncBlockedRanges', {
      entry: 'lambdas/abuse/sync-blocked-ranges.ts',
      description: "Copies the client-range blocks in force into the front door's WAF IP sets",
      timeout: seconds(60),
      logRetention: props.logRetention,
      environmentSchema: blockedRangesEnvironmentSchema,
      environment: {
        TABLE_NAME: props.table.tableName,
        BLOCKED_IP_SETS_PARAMETER: props.ipSetsParameterName,
        IP_SETS_REGION: WEB_ACL_REGION,
      },
    });
    for (const grant of BLOCKED_RANGES_ACCESS.table)
      this.function.addToRolePolicy(tableItemsUnder(props.table, grant.actions, grant.keyPrefixes));
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['ssm:GetParameter'],
        resources: [
          `arn:${partition}:ssm:${WEB_ACL_REGION}:${account}:parameter${props.ipSetsParameterName}`,
        ],
      }),
    );
    // The sets' names are known, their ids only once they exist: `<name>/*` is the narrowest ARN.
    const ipSets = blockedClientIpSetArns(this);
    this.function.addToRolePolicy(
      new PolicyStatement({ actions: ['wafv2:GetIPSet', 'wafv2:UpdateIPSet'], resources: ipSets }),
    );
    for (const arn of ipSets)
      acknowledgeWildcardResource(
        this,
        arn,
        "An IP set's ARN ends in an id WAF assigns when it creates the set (in the us-east-1 stack); the name before it is this storefront's own set.",
      );
    new Rule(this, 'Schedule', {
      description: "Syncs the front door's blocked-client IP sets with the table",
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(this.function, { retryAttempts: 0 })],
    });
  }
}
