/**
 * The storefront's single DynamoDB table, defined once. The CDK data construct, the
 * local storefront and the tests all build the table from this description, and the
 * stores build every key through `itemKeys`.
 *
 * Access patterns (all by primary key unless noted):
 *   order by id ............ pk ORDER#<order_id>      sk ORDER
 *   machine by id .......... pk MACHINE#<machine_id>  sk MACHINE
 *   extension by key ....... pk MACHINE#<machine_id>  sk EXTENSION#<request_id | payment ref>
 *   payment replay marker .. pk REPLAY#<key>          sk REPLAY
 *   capacity snapshot ...... pk CAPACITY#<product_id> sk CAPACITY
 *                            (written every minute by the capacity watcher, read before payment)
 *   block by kind + value .. pk BLOCK#<kind>          sk <fingerprint | CIDR | payer>
 *                            (an SSH key block is one GetItem; the client ranges are one Query
 *                            of BLOCK#client_range; the operator lists all three partitions)
 *   live leases by expiry .. GSI live-leases: live_pk LIVE, live_sk <expires_at>#<machine_id>
 *                            (sparse: only provisioning/active/terminating machines carry it;
 *                            the reconciler reads it to find leases whose workflow is gone)
 *   live leases by SSH key . GSI live-leases-by-key: key_live_pk LIVEKEY#<key fingerprint>,
 *                            key_live_sk <machine_id> (sparse, written and removed with
 *                            live_pk; the selling functions count one key's live leases with
 *                            one Query of its own partition)
 *   money to finish by time  GSI sweep: sweep_pk SWEEP, sweep_sk <check at>#<pk>
 *                            (sparse: only orders with a payment attempt or a settled order
 *                            whose machine is not yet running, and machines owing a refund;
 *                            the sweeper reads the due ones and finishes each)
 * Items that should disappear carry `expires_at_epoch` (seconds), the table's TTL attribute:
 * unpaid orders after a day, replay markers after their challenge, machines a retention
 * period after they end. TTL deletion is lazy, so every read also treats them as gone.
 */
export const TABLE_DESIGN = {
  partitionKey: 'pk',
  sortKey: 'sk',
  timeToLiveAttribute: 'expires_at_epoch',
  liveLeasesIndex: {
    name: 'live-leases',
    partitionKey: 'live_pk',
    sortKey: 'live_sk',
  },
  sweepIndex: {
    name: 'sweep',
    partitionKey: 'sweep_pk',
    sortKey: 'sweep_sk',
  },
  leasesByKeyIndex: {
    name: 'live-leases-by-key',
    partitionKey: 'key_live_pk',
    sortKey: 'key_live_sk',
    /** Besides the keys: what the count reports per lease. */
    projected: ['machine_id', 'product_id'],
  },
} as const;

/** The live-leases-by-key partitions' prefix (their IAM condition names it). */
export const LIVE_KEY_PREFIX = 'LIVEKEY#';

/**
 * A live lease's place in the live-leases-by-key index: its SSH key's fingerprint (of the key
 * blob only, so another comment is the same key), then the machine.
 */
export const liveKeyLeaseKey = (keyFingerprint: string, machineId: string) => ({
  key_live_pk: `${LIVE_KEY_PREFIX}${keyFingerprint}`,
  key_live_sk: machineId,
});

export const SWEEP_PARTITION = 'SWEEP';

/** Puts an item on the sweeper's list, to be looked at once `checkAt` (ISO time) has passed. */
export const sweepKey = (checkAt: string, pk: string) => ({
  sweep_pk: SWEEP_PARTITION,
  sweep_sk: `${checkAt}#${pk}`,
});

export const LIVE_PARTITION = 'LIVE';

/** Partition key prefixes; IAM policies scope each function to the prefixes it needs. */
export const KEY_PREFIX = {
  order: 'ORDER#',
  machine: 'MACHINE#',
  replay: 'REPLAY#',
  capacity: 'CAPACITY#',
  block: 'BLOCK#',
} as const;
export type KeyPrefix = (typeof KEY_PREFIX)[keyof typeof KEY_PREFIX];

export const itemKeys = {
  order: (orderId: string) => ({ pk: `${KEY_PREFIX.order}${orderId}`, sk: 'ORDER' }),
  machine: (machineId: string) => ({ pk: `${KEY_PREFIX.machine}${machineId}`, sk: 'MACHINE' }),
  extension: (machineId: string, key: string) => ({
    pk: `${KEY_PREFIX.machine}${machineId}`,
    sk: `EXTENSION#${key}`,
  }),
  replay: (key: string) => ({ pk: `${KEY_PREFIX.replay}${key}`, sk: 'REPLAY' }),
  capacity: (productId: string) => ({ pk: `${KEY_PREFIX.capacity}${productId}`, sk: 'CAPACITY' }),
  block: (kind: string, value: string) => ({ pk: blockPartition(kind), sk: value }),
};

/** The partition holding every block of one kind (ssh_key, client_range, payer). */
export const blockPartition = (kind: string) => `${KEY_PREFIX.block}${kind}`;

export const liveLeaseKey = (expiresAt: string, machineId: string) => ({
  live_pk: LIVE_PARTITION,
  live_sk: `${expiresAt}#${machineId}`,
});

/** CreateTable input for DynamoDB-compatible servers (the local storefront and the tests). */
export function createTableInput(tableName: string) {
  const { partitionKey, sortKey, liveLeasesIndex, sweepIndex, leasesByKeyIndex } = TABLE_DESIGN;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: partitionKey, AttributeType: 'S' as const },
      { AttributeName: sortKey, AttributeType: 'S' as const },
      { AttributeName: liveLeasesIndex.partitionKey, AttributeType: 'S' as const },
      { AttributeName: liveLeasesIndex.sortKey, AttributeType: 'S' as const },
      { AttributeName: sweepIndex.partitionKey, AttributeType: 'S' as const },
      { AttributeName: sweepIndex.sortKey, AttributeType: 'S' as const },
      { AttributeName: leasesByKeyIndex.partitionKey, AttributeType: 'S' as const },
      { AttributeName: leasesByKeyIndex.sortKey, AttributeType: 'S' as const },
    ],
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' as const },
      { AttributeName: sortKey, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: liveLeasesIndex.name,
        KeySchema: [
          { AttributeName: liveLeasesIndex.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: liveLeasesIndex.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'ALL' as const },
      },
      {
        IndexName: sweepIndex.name,
        KeySchema: [
          { AttributeName: sweepIndex.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: sweepIndex.sortKey, KeyType: 'RANGE' as const },
        ],
        // Keys only: the sweeper reads each item consistently before acting on it.
        Projection: { ProjectionType: 'KEYS_ONLY' as const },
      },
      leasesByKeyTableIndex(),
    ],
  };
}

/** The live-leases-by-key index as CreateTable and UpdateTable take it. */
export function leasesByKeyTableIndex() {
  const { leasesByKeyIndex } = TABLE_DESIGN;
  return {
    IndexName: leasesByKeyIndex.name,
    KeySchema: [
      { AttributeName: leasesByKeyIndex.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: leasesByKeyIndex.sortKey, KeyType: 'RANGE' as const },
    ],
    Projection: {
      ProjectionType: 'INCLUDE' as const,
      NonKeyAttributes: [...leasesByKeyIndex.projected],
    },
  };
}
