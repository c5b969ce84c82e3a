import { DynamoBlockStore } from '../../adapters/dynamodb/block-store.js';
import { capacitySnapshots } from '../../adapters/dynamodb/capacity-snapshot.js';
import { documentClient } from '../../adapters/dynamodb/document-client.js';
import { liveLeasesOfKey } from '../../adapters/dynamodb/live-leases.js';
import { DynamoMachineStore } from '../../adapters/dynamodb/machine-store.js';
import { DynamoOrderStore } from '../../adapters/dynamodb/order-store.js';
import { CAPACITY_CACHE_MS, cachedCapacityCheck } from '../../core/availability.js';
import type { StoresPart } from '../storefront-parts.js';
import { tracedClient } from '../tracing.js';

/** Orders, machines and the capacity watcher's snapshots in the storefront's DynamoDB table. */
export const tableStores: StoresPart = ({ tableName, clients, clock, log }) => {
  // Local endpoints are used as given; the client built for AWS shows its calls in X-Ray.
  const db = clients.dynamodb ? documentClient(clients.dynamodb) : tracedClient(documentClient());
  return {
    db,
    orders: new DynamoOrderStore(db, tableName),
    machines: new DynamoMachineStore(db, tableName),
    blocks: new DynamoBlockStore(db, tableName),
    liveLeasesOfKey: liveLeasesOfKey(db, tableName),
    capacity: cachedCapacityCheck(capacitySnapshots({ db, tableName, clock, log }), {
      ttlMs: CAPACITY_CACHE_MS,
      clock,
    }),
  };
};
