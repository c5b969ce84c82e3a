import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { MachineRecord } from '../../core/machine.js';
import type { ExtensionRecord, MachineStore, RefundRecord } from '../../core/ports.js';
import { conditionally, recordOf, updateRecord } from './document-client.js';
import { acquireItemLock, type ItemLock, releaseItemLock } from './item-lock.js';
import { itemKeys, liveLeaseKey } from './table-design.js';

const isGone = (item: Record<string, unknown>, now: Date) =>
  typeof item.expires_at_epoch === 'number' && item.expires_at_epoch * 1000 <= now.getTime();

export class DynamoMachineStore implements MachineStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(machineId: string, now: Date): Promise<MachineRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: itemKeys.machine(machineId),
        ConsistentRead: true,
      }),
    );
    if (!Item || isGone(Item, now)) return undefined;
    return recordOf<MachineRecord>(Item);
  }

  async create(machine: MachineRecord): Promise<MachineRecord> {
    const created = await conditionally(() =>
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...itemKeys.machine(machine.machine_id),
            kind: 'machine',
            ...machine,
            ...liveLeaseKey(machine.expires_at, machine.machine_id),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    if (created) return machine;
    const existing = await this.get(machine.machine_id, new Date(0));
    if (!existing) throw new Error(`machine ${machine.machine_id} neither created nor found`);
    return existing;
  }

  extend(
    machineId: string,
    plan: { leaseMinutesBefore: number; leaseMinutes: number; expiresAt: string },
  ): Promise<MachineRecord | undefined> {
    return updateRecord<MachineRecord>(this.db, {
      TableName: this.tableName,
      Key: itemKeys.machine(machineId),
      UpdateExpression: 'SET lease_minutes = :minutes, expires_at = :expires, live_sk = :liveSk',
      ConditionExpression: 'lease_minutes = :before AND #status IN (:provisioning, :active)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':minutes': plan.leaseMinutes,
        ':before': plan.leaseMinutesBefore,
        ':expires': plan.expiresAt,
        ':liveSk': liveLeaseKey(plan.expiresAt, machineId).live_sk,
        ':provisioning': 'provisioning',
        ':active': 'active',
      },
    });
  }

  requestTermination(machineId: string, now: Date): Promise<MachineRecord | undefined> {
    return updateRecord<MachineRecord>(this.db, {
      TableName: this.tableName,
      Key: itemKeys.machine(machineId),
      UpdateExpression: 'SET #status = :terminating, termination_requested_at = :now',
      ConditionExpression: '#status IN (:provisioning, :active)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':terminating': 'terminating',
        ':provisioning': 'provisioning',
        ':active': 'active',
        ':now': now.toISOString(),
      },
    });
  }

  private extensionLock(machineId: string): ItemLock {
    return {
      db: this.db,
      tableName: this.tableName,
      key: itemKeys.machine(machineId),
      name: 'extension',
    };
  }

  lockForExtension(machineId: string, owner: string, until: Date, now: Date): Promise<boolean> {
    return acquireItemLock(this.extensionLock(machineId), owner, until, now);
  }

  releaseExtensionLock(machineId: string, owner: string): Promise<void> {
    return releaseItemLock(this.extensionLock(machineId), owner);
  }

  async getExtension(
    machineId: string,
    extensionKey: string,
  ): Promise<ExtensionRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: itemKeys.extension(machineId, extensionKey),
        ConsistentRead: true,
      }),
    );
    return Item ? recordOf<ExtensionRecord>(Item) : undefined;
  }

  async recordExtension(extension: ExtensionRecord): Promise<void> {
    await conditionally(() =>
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...itemKeys.extension(extension.machine_id, extension.extension_key),
            kind: 'extension',
            ...extension,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  async listExtensions(machineId: string): Promise<ExtensionRecord[]> {
    const extensions: ExtensionRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :extension)',
          ExpressionAttributeValues: {
            ':pk': itemKeys.machine(machineId).pk,
            ':extension': itemKeys.extension(machineId, '').sk,
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) extensions.push(recordOf<ExtensionRecord>(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return extensions;
  }

  recordExtensionRefund(
    machineId: string,
    extensionKey: string,
    refund: RefundRecord,
  ): Promise<boolean> {
    return conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.extension(machineId, extensionKey),
          UpdateExpression: 'SET refund = :refund REMOVE refund_due',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(refund)',
          ExpressionAttributeValues: { ':refund': refund },
        }),
      ),
    );
  }
}
