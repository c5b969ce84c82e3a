import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { KeyPrefix } from '../lambdas/adapters/dynamodb/table-design.js';

/**
 * Table actions on the items whose partition key starts with one of the prefixes only:
 * "dynamodb:LeadingKeys … represents the partition key attribute of a table" (DynamoDB
 * developer guide, "Using IAM policy conditions for fine-grained access control").
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
