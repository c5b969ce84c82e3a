import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Store } from 'mppx';
import { conditionally, type DocumentDb, isConditionFailure } from '../dynamodb/document-client.js';
import { itemKeys } from '../dynamodb/table-design.js';

/** Replay markers live a day past their challenge before TTL removes them. */
const MARKER_GRACE_SECONDS = 86_400;

interface StoredValue {
  value: unknown;
  version: number;
}

/**
 * mppx's atomic Store on the storefront table, so a payment credential is consumed once
 * across every Lambda instance. `tryClaim` is one conditional put; `update` is optimistic
 * concurrency on a version number.
 */
export function dynamoReplayStore(db: DocumentDb, tableName: string): Store.AtomicStore {
  const read = async (key: string): Promise<StoredValue | undefined> => {
    const { Item } = await db.send(
      new GetCommand({ TableName: tableName, Key: itemKeys.replay(key), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    if (typeof Item.expires_ms === 'number' && Item.expires_ms < Date.now()) return undefined;
    return { value: Item.value ?? null, version: Number(Item.version ?? 0) };
  };
  const write = (
    key: string,
    value: unknown,
    version: number,
    condition: Record<string, unknown>,
  ) =>
    db.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...itemKeys.replay(key), kind: 'replay', value, version },
        ...condition,
      }),
    );

  const store: Store.AtomicStore = {
    async get(key: string) {
      return (await read(key))?.value ?? null;
    },
    async put(key: string, value: unknown) {
      await write(key, value, 0, {});
    },
    async delete(key: string) {
      await db.send(new DeleteCommand({ TableName: tableName, Key: itemKeys.replay(key) }));
    },
    async update<R>(key: string, fn: (current: unknown) => Store.Change<unknown, R>): Promise<R> {
      for (let attempt = 0; attempt < 10; attempt++) {
        const current = await read(key);
        const change = fn(current ? current.value : null);
        if (change.op === 'noop') return change.result;
        const condition = current
          ? {
              ConditionExpression: 'version = :version',
              ExpressionAttributeValues: { ':version': current.version },
            }
          : {
              ConditionExpression: 'attribute_not_exists(pk) OR expires_ms < :now',
              ExpressionAttributeValues: { ':now': Date.now() },
            };
        try {
          if (change.op === 'set')
            await write(key, change.value, (current?.version ?? 0) + 1, condition);
          else if (current) {
            await db.send(
              new DeleteCommand({ TableName: tableName, Key: itemKeys.replay(key), ...condition }),
            );
          }
          return change.result;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
      }
      throw new Error(`replay store: too much contention on ${key}`);
    },
    tryClaim(key: string, expires: number) {
      return conditionally(() =>
        db.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...itemKeys.replay(key),
              kind: 'replay',
              value: { expires, type: 'mppx:replay' },
              version: 0,
              expires_ms: expires,
              expires_at_epoch: Math.ceil(expires / 1000) + MARKER_GRACE_SECONDS,
            },
            ConditionExpression: 'attribute_not_exists(pk) OR expires_ms < :now',
            ExpressionAttributeValues: { ':now': Date.now() },
          }),
        ),
      );
    },
  };
  return Store.from(store);
}
