import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import {
  type KeyPrefix,
  LIVE_KEY_PREFIX,
  LIVE_PARTITION,
  TABLE_DESIGN,
} from '../lambdas/adapters/dynamodb/table-design.js';

/**
 * Table actions on the items whose partition key starts with one of the prefixes only.
 * "dynamodb:LeadingKeys: Allows a user to access items that have a specific partition key
 * value" (AWS re:Post knowledge center, "restrict access to specific attributes"; the DynamoDB
 * developer guide's "Using IAM policy conditions for fine-grained access control"), matched
 * here with StringLike on `<prefix>*`.
 */
export function tableItemsUnder(
  table: ITable,
  actions: readonly string[],
  keyPrefixes: readonly KeyPrefix[],
): PolicyStatement {
  return new PolicyStatement({
    actions: actions.map((action) => `dynamodb:${action}`),
    resources: [table.tableArn],
    conditions: {
      'ForAllValues:StringLike': {
        'dynamodb:LeadingKeys': keyPrefixes.map((prefix) => `${prefix}*`),
      },
    },
  });
}

/**
 * Query of the live-leases-by-key index's partitions (`LIVEKEY#<fingerprint>`: one key's live
 * leases), and nothing else of the table.
 */
export function liveLeasesQuery(table: ITable): PolicyStatement[] {
  return [
    new PolicyStatement({
      actions: ['dynamodb:Query'],
      resources: [`${table.tableArn}/index/${TABLE_DESIGN.leasesByKeyIndex.name}`],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${LIVE_KEY_PREFIX}*`] },
      },
    }),
    // The count's fallback while the index above is still being built (live-leases.ts).
    new PolicyStatement({
      actions: ['dynamodb:Query'],
      resources: [`${table.tableArn}/index/${TABLE_DESIGN.liveLeasesIndex.name}`],
      conditions: {
        'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [LIVE_PARTITION] },
      },
    }),
  ];
}
