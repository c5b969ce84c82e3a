import { QueryCommand, type QueryCommandOutput, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { sshKeyFingerprint } from '../../core/blocks.js';
import type { MachineRecord } from '../../core/machine.js';
import { type DocumentDb, recordOf } from './document-client.js';
import { itemKeys, LIVE_PARTITION, liveKeyLeaseKey, TABLE_DESIGN } from './table-design.js';

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

/** A table without the index: a local table from before it (dynalite never builds one added later). */
const MISSING_INDEX = /does not have the specified index/;
/**
 * The index exists but is still being built. "If you update a table to include a new global
 * secondary index, AWS CloudFormation initiates the index creation and then proceeds with the
 * stack update. … You can't use the index … until the index's status is ACTIVE"
 * (AWS::DynamoDB::Table, GlobalSecondaryIndexes): the deploy that adds it runs this code while
 * DynamoDB backfills it, and a Query of it is refused meanwhile.
 */
const BACKFILLING_INDEX = /backfilling global secondary index/i;
/** How long a container counts from the LIVE partition before it asks the index again. */
const BACKFILL_RETRY_MS = 60_000;

/**
 * The live leases of one SSH key, as product and machine ids: one Query of the key's own
 * partition of the live-leases-by-key index (its fingerprint hashes the key blob only, so a
 * changed comment is the same key). It reads that key's leases and nothing else, however many
 * other leases are live.
 *
 * A local table kept in `.data` from before that index existed has no such index, and dynalite
 * cannot add one to an existing table (it accepts UpdateTable's GlobalSecondaryIndexUpdates and
 * never builds the index): there the count falls back to the live-leases index's LIVE
 * partition, filtered on the key. On AWS, CloudFormation adds the index to the table, and while
 * DynamoDB backfills it the count falls back the same way (the selling functions keep their
 * Query of that partition for this).
 */
export function liveLeasesOfKey(db: DocumentDb, tableName: string, now: () => number = Date.now) {
  let indexUnusableUntil = 0;
  return async (keyLine: string): Promise<{ machine_id: string; product_id: string }[]> => {
    if (now() < indexUnusableUntil) return liveLeasesOfKeyInLivePartition(db, tableName, keyLine);
    const { leasesByKeyIndex } = TABLE_DESIGN;
    const { key_live_pk } = liveKeyLeaseKey(sshKeyFingerprint(keyLine), '');
    const leases: { machine_id: string; product_id: string }[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      let page: QueryCommandOutput;
      try {
        page = await db.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: leasesByKeyIndex.name,
            KeyConditionExpression: `${leasesByKeyIndex.partitionKey} = :key`,
            ExpressionAttributeValues: { ':key': key_live_pk },
            ExclusiveStartKey: startKey,
          }),
        );
      } catch (error) {
        const message = String((error as Error).message);
        if (MISSING_INDEX.test(message)) indexUnusableUntil = Number.POSITIVE_INFINITY;
        else if (BACKFILLING_INDEX.test(message)) indexUnusableUntil = now() + BACKFILL_RETRY_MS;
        else throw error;
        return liveLeasesOfKeyInLivePartition(db, tableName, keyLine);
      }
      for (const item of page.Items ?? [])
        leases.push({ machine_id: String(item.machine_id), product_id: String(item.product_id) });
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return leases;
  };
}

/** The same from the live-leases index's LIVE partition, read whole and filtered on the key. */
async function liveLeasesOfKeyInLivePartition(
  db: DocumentDb,
  tableName: string,
  keyLine: string,
): Promise<{ machine_id: string; product_id: string }[]> {
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
}
