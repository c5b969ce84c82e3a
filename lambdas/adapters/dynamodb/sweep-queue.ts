import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DocumentDb } from './document-client.js';
import { type KeyPrefix, SWEEP_PARTITION, TABLE_DESIGN } from './table-design.js';

/**
 * Keys of the items of one kind (by key prefix) that the sweeper should look at by `now`,
 * oldest first, read from the sparse sweep index without a scan. The index is eventually
 * consistent, so callers read each item again before acting on it.
 */
export async function dueForSweep(
  db: DocumentDb,
  tableName: string,
  prefix: KeyPrefix,
  now: Date,
  limit: number,
): Promise<Array<{ pk: string; sk: string }>> {
  const { sweepIndex, partitionKey, sortKey } = TABLE_DESIGN;
  const keys: Array<{ pk: string; sk: string }> = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: sweepIndex.name,
        KeyConditionExpression: '#pk = :partition AND #sk <= :now',
        ExpressionAttributeNames: { '#pk': sweepIndex.partitionKey, '#sk': sweepIndex.sortKey },
        ExpressionAttributeValues: {
          ':partition': SWEEP_PARTITION,
          ':now': `${now.toISOString()}~`,
        },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const pk = String(item[partitionKey]);
      if (pk.startsWith(prefix)) keys.push({ pk, sk: String(item[sortKey]) });
      if (keys.length >= limit) return keys;
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return keys;
}
