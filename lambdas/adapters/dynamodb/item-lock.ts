import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionally, type DocumentDb } from './document-client.js';

/**
 * A short-lived claim on one item (`<name>_lock_owner`, `<name>_lock_until`), so only one
 * request at a time may, say, charge an order. It lapses by itself if its holder dies.
 */
export interface ItemLock {
  db: DocumentDb;
  tableName: string;
  key: Record<string, string>;
  name: string;
  /** A further condition the item must meet to be locked (e.g. the order is unpaid). */
  condition?: {
    expression: string;
    names?: Record<string, string>;
    values?: Record<string, unknown>;
  };
}

export function acquireItemLock(
  lock: ItemLock,
  owner: string,
  until: Date,
  now: Date,
): Promise<boolean> {
  const owned = `${lock.name}_lock_owner`;
  const expiry = `${lock.name}_lock_until`;
  return conditionally(() =>
    lock.db.send(
      new UpdateCommand({
        TableName: lock.tableName,
        Key: lock.key,
        UpdateExpression: `SET ${owned} = :owner, ${expiry} = :until`,
        ConditionExpression: `attribute_exists(pk) AND (attribute_not_exists(${expiry}) OR ${expiry} < :now)${
          lock.condition ? ` AND ${lock.condition.expression}` : ''
        }`,
        ...(lock.condition?.names ? { ExpressionAttributeNames: lock.condition.names } : {}),
        ExpressionAttributeValues: {
          ':owner': owner,
          ':until': until.getTime(),
          ':now': now.getTime(),
          ...lock.condition?.values,
        },
      }),
    ),
  );
}

export async function releaseItemLock(lock: ItemLock, owner: string): Promise<void> {
  await conditionally(() =>
    lock.db.send(
      new UpdateCommand({
        TableName: lock.tableName,
        Key: lock.key,
        UpdateExpression: `REMOVE ${lock.name}_lock_owner, ${lock.name}_lock_until`,
        ConditionExpression: `${lock.name}_lock_owner = :owner`,
        ExpressionAttributeValues: { ':owner': owner },
      }),
    ),
  );
}
