import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { retryConfig } from '../aws-retry.js';

/** A document client with the storefront's DynamoDB attempts (see adapters/aws-retry.ts). */
export function documentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...retryConfig('dynamodb'), ...config }),
    {
      marshallOptions: { removeUndefinedValues: true },
    },
  );
}

export const isConditionFailure = (error: unknown) =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** Runs a conditional write; false when its condition did not hold. */
export async function conditionally(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Strips the table's own attributes from an item, leaving the record stored in it. */
export function recordOf<T>(item: Record<string, unknown>): T {
  const {
    pk: _pk,
    sk: _sk,
    kind: _kind,
    live_pk: _livePk,
    live_sk: _liveSk,
    sweep_pk: _sweepPk,
    sweep_sk: _sweepSk,
    expires_at_epoch: _ttl,
    payment_lock_owner: _lockOwner,
    payment_lock_until: _lockUntil,
    extension_lock_owner: _extensionLockOwner,
    extension_lock_until: _extensionLockUntil,
    ...record
  } = item;
  return record as T;
}

/** A conditional update that returns the updated record, or undefined if its condition failed. */
export async function updateRecord<T>(
  db: DynamoDBDocumentClient,
  input: Omit<UpdateCommandInput, 'ReturnValues'>,
): Promise<T | undefined> {
  try {
    const { Attributes } = await db.send(new UpdateCommand({ ...input, ReturnValues: 'ALL_NEW' }));
    return Attributes ? recordOf<T>(Attributes) : undefined;
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}
