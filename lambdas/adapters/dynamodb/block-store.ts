import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  BLOCK_KINDS,
  type BlockKind,
  type BlockRecord,
  type BuyerSubject,
} from '../../core/blocks.js';
import type { BlockStore } from '../../core/ports.js';
import type { DocumentDb } from './document-client.js';
import { blockPartition, itemKeys } from './table-design.js';

const toRecord = (item: Record<string, unknown>): BlockRecord => ({
  kind: item.block_kind as BlockKind,
  value: String(item.sk),
  reason: String(item.reason ?? ''),
  blocked_by: String(item.blocked_by ?? ''),
  blocked_at: String(item.blocked_at ?? ''),
  ...(typeof item.block_expires_at === 'string' ? { expires_at: item.block_expires_at } : {}),
});

/**
 * Blocks in the storefront's table (table-design.ts: pk BLOCK#<kind>, sk the value). An SSH key
 * is checked with one GetItem, client ranges with one Query of their partition: an operator
 * keeps tens or hundreds of ranges, not millions (beyond that, the front door's WAF IP sets are
 * the place). Reads are strongly consistent: a block is in force from the moment it is written.
 */
export class DynamoBlockStore implements BlockStore {
  constructor(
    private readonly db: DocumentDb,
    private readonly tableName: string,
  ) {}

  async candidatesFor(subject: BuyerSubject): Promise<BlockRecord[]> {
    const [key, ranges] = await Promise.all([
      this.db.send(
        new GetCommand({
          TableName: this.tableName,
          Key: itemKeys.block('ssh_key', subject.sshKeyFingerprint),
          ConsistentRead: true,
        }),
      ),
      subject.clientAddress === undefined ? Promise.resolve([]) : this.ofKind('client_range'),
    ]);
    return [...(key.Item ? [toRecord(key.Item)] : []), ...ranges];
  }

  async put(block: BlockRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...itemKeys.block(block.kind, block.value),
          kind: 'block',
          block_kind: block.kind,
          reason: block.reason,
          blocked_by: block.blocked_by,
          blocked_at: block.blocked_at,
          ...(block.expires_at
            ? {
                block_expires_at: block.expires_at,
                // TTL removes it some time after it lapses; reads ignore it from the moment it does.
                expires_at_epoch: Math.ceil(Date.parse(block.expires_at) / 1000),
              }
            : {}),
        },
      }),
    );
  }

  async remove(kind: BlockKind, value: string): Promise<boolean> {
    const { Attributes } = await this.db.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: itemKeys.block(kind, value),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes !== undefined;
  }

  async list(): Promise<BlockRecord[]> {
    return (await Promise.all(BLOCK_KINDS.map((kind) => this.ofKind(kind)))).flat();
  }

  private async ofKind(kind: BlockKind): Promise<BlockRecord[]> {
    const records: BlockRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': blockPartition(kind) },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      records.push(...(page.Items ?? []).map(toRecord));
      start = page.LastEvaluatedKey;
    } while (start);
    return records;
  }
}
