import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { KEY_PREFIX } from '../lambdas/adapters/dynamodb/table-design.js';
import { capacityChecking } from './machine-policies.js';
import { tableItemsUnder } from './table-policies.js';

/** The functions that sell read snapshots no older than a few minutes (capacity-snapshot.ts). */
export const CAPACITY_WATCH_EVERY = Duration.minutes(1);

/**
 * Runs the capacity watcher every minute, allowed to read EC2's and Service Quotas'
 * capacity facts and to write its snapshot items (`CAPACITY#` keys), nothing else.
 */
export function watchCapacityOnSchedule(
  scope: Construct,
  props: { watcher: IFunction; table: ITable },
): Rule {
  props.watcher.addToRolePolicy(capacityChecking());
  props.watcher.addToRolePolicy(tableItemsUnder(props.table, ['PutItem'], [KEY_PREFIX.capacity]));
  return new Rule(scope, 'CapacityWatchSchedule', {
    description: 'Records whether each product can be launched now, read before payment',
    schedule: Schedule.rate(CAPACITY_WATCH_EVERY),
    // A missed run is made up by the next one a minute later.
    targets: [new LambdaFunction(props.watcher, { retryAttempts: 0 })],
  });
}
