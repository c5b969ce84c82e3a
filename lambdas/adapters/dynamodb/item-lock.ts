import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionally, type DocumentDb } from './document-client.js';

/**
 * A short-lived claim on one item, so only one request at a time may, say, charge an order. It
 * lapses by itself if its holder dies.
 */
export interface ItemLock {
  db: DocumentDb;
  tableName: string;
  key: Record<string, string>;
  name: string;
}

/**
 * Gives up a claim on one item (`<name>_lock_owner`, `<name>_lock_until`) if `owner` still
 * holds it. The claims themselves are taken in the stores' own conditional writes, together
 * with what they record (order-store `lockForPayment`, machine-store `lockForExtension`).
 */
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
