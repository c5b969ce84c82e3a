import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { MachineRecord } from '../../core/machine.js';
import { type DocumentDb, recordOf } from './document-client.js';
import { itemKeys, LIVE_PARTITION, TABLE_DESIGN } from './table-design.js';

/** Leases still marked live whose end passed before `cutoff`, oldest first (live-leases index). */
export async function liveLeasesEndedBefore(
  db: DocumentDb,
  tableName: string,
  cutoff: Date,
): Promise<MachineRecord[]> {
  const leases: MachineRecord[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: TABLE_DESIGN.liveLeasesIndex.name,
        KeyConditionExpression: 'live_pk = :live AND live_sk < :cutoff',
        ExpressionAttributeValues: { ':live': LIVE_PARTITION, ':cutoff': cutoff.toISOString() },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) leases.push(recordOf<MachineRecord>(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return leases;
}

/**
 * Every lease whose machine item says it is live, read from the items themselves with a
 * consistent scan rather than from the (eventually consistent) live-leases index. For the
 * local storefront's restart, where the whole table is small and the answer must be exact.
 */
export async function liveLeasesByItem(
  db: DocumentDb,
  tableName: string,
): Promise<MachineRecord[]> {
  const leases: MachineRecord[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        FilterExpression: 'sk = :machine AND #status IN (:provisioning, :active, :terminating)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':machine': itemKeys.machine('').sk,
          ':provisioning': 'provisioning',
          ':active': 'active',
          ':terminating': 'terminating',
        },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) leases.push(recordOf<MachineRecord>(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return leases;
}

/**
 * The live leases of one SSH key (live-leases index, filtered on the key line's `<type>
 * <base64>` prefix, so a changed comment is the same key), as product and machine ids. Reads
 * the whole live partition: fine for hundreds of live leases, not for millions.
 */
export function liveLeasesOfKey(db: DocumentDb, tableName: string) {
  return async (keyLine: string): Promise<{ machine_id: string; product_id: string }[]> => {
    const [type = '', blob = ''] = keyLine.trim().split(/ +/);
    const leases: { machine_id: string; product_id: string }[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: TABLE_DESIGN.liveLeasesIndex.name,
          KeyConditionExpression: 'live_pk = :live',
          FilterExpression: 'begins_with(ssh_public_key, :key)',
          ExpressionAttributeValues: { ':live': LIVE_PARTITION, ':key': `${type} ${blob}` },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const line = String(item.ssh_public_key ?? '');
        if (line !== `${type} ${blob}` && !line.startsWith(`${type} ${blob} `)) continue;
        leases.push({ machine_id: String(item.machine_id), product_id: String(item.product_id) });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return leases;
  };
}
