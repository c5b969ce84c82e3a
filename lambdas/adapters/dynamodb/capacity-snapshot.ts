import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Availability, CapacityCheck, Clock, Logger } from '../../core/ports.js';
import type { Product } from '../../core/products.js';
import type { DocumentDb } from './document-client.js';
import { itemKeys } from './table-design.js';

/** What the capacity watcher found for one product, and when. */
export type CapacitySnapshot = Availability & {
  product_id: string;
  /** The instance type checked: a snapshot of another type (the catalog changed) is not used. */
  instance_type: string;
  /** The lease length the check was made for (the product's shortest). */
  lease_minutes: number;
  checked_at: string;
};

/**
 * The watcher writes every minute; a snapshot older than this means the watcher is not
 * running (or failing), and what it once saw is no longer evidence either way.
 */
export const CAPACITY_SNAPSHOT_MAX_AGE_MS = 5 * 60_000;

/** A product removed from the catalog leaves no snapshot behind for long. */
const SNAPSHOT_RETENTION_SECONDS = 24 * 3600;

export function writeCapacitySnapshot(
  db: DocumentDb,
  tableName: string,
  snapshot: CapacitySnapshot,
): Promise<unknown> {
  return db.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        ...itemKeys.capacity(snapshot.product_id),
        kind: 'capacity',
        ...snapshot,
        expires_at_epoch:
          Math.floor(Date.parse(snapshot.checked_at) / 1000) + SNAPSHOT_RETENTION_SECONDS,
      },
    }),
  );
}

/** An item as read back: written by a watcher of this or an earlier version. */
interface StoredSnapshot {
  checked_at?: string;
  instance_type?: string;
  available?: boolean;
  checked?: string[];
  reason?: string;
  retryAfterSeconds?: number;
}

const UNCHECKED: Availability = { available: true, checked: [] };

/**
 * Availability as the capacity watcher last recorded it (one GetItem; no EC2 client in the
 * function that sells). A missing, stale or foreign snapshot means "not checked": the sale
 * goes on, because the launch is still the authority and a lease whose launch is refused is
 * refunded in full. Refusing every sale because the watcher stopped would turn a monitoring
 * gap into an outage; its absence is logged instead (and the watcher's errors alarm).
 */
export function capacitySnapshots(options: {
  db: DocumentDb;
  tableName: string;
  clock: Clock;
  log: Logger;
  maxAgeMs?: number;
}): CapacityCheck {
  const maxAgeMs = options.maxAgeMs ?? CAPACITY_SNAPSHOT_MAX_AGE_MS;
  return {
    async check(product: Product): Promise<Availability> {
      const { Item } = await options.db.send(
        new GetCommand({ TableName: options.tableName, Key: itemKeys.capacity(product.id) }),
      );
      const snapshot = Item as StoredSnapshot | undefined;
      if (!snapshot?.checked_at) {
        options.log.warn('capacity.snapshot_missing', { product: product.id });
        return UNCHECKED;
      }
      const ageMs = options.clock.now().getTime() - Date.parse(snapshot.checked_at);
      if (!(ageMs <= maxAgeMs)) {
        options.log.warn('capacity.snapshot_stale', {
          product: product.id,
          checked_at: snapshot.checked_at,
        });
        return UNCHECKED;
      }
      if (snapshot.instance_type !== product.instance.instanceType) {
        options.log.warn('capacity.snapshot_other_instance_type', {
          product: product.id,
          snapshot: snapshot.instance_type,
          catalog: product.instance.instanceType,
        });
        return UNCHECKED;
      }
      return snapshot.available === false
        ? {
            available: false,
            reason: String(snapshot.reason),
            retryAfterSeconds: Number(snapshot.retryAfterSeconds),
          }
        : { available: true, checked: [...(snapshot.checked ?? [])] };
    },
  };
}
