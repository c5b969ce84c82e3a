import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { isExpiredUnpaid, type OrderRecord, type PaymentRecord } from '../../core/order.js';
import type { OrderStore, RefundRecord } from '../../core/ports.js';
import { conditionally, recordOf, updateRecord } from './document-client.js';
import { acquireItemLock, type ItemLock, releaseItemLock } from './item-lock.js';
import { itemKeys } from './table-design.js';

export class DynamoOrderStore implements OrderStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(orderId: string, now: Date): Promise<OrderRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: itemKeys.order(orderId),
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    const order = recordOf<OrderRecord>(Item);
    return isExpiredUnpaid(order, now) ? undefined : order;
  }

  async open(order: OrderRecord, now: Date): Promise<OrderRecord> {
    const created = await conditionally(() =>
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...itemKeys.order(order.order_id),
            kind: 'order',
            ...order,
            expires_at_epoch: order.unpaid_expires_at,
          },
          // A new order, or the replacement of an unpaid one whose expiry has passed.
          ConditionExpression:
            'attribute_not_exists(pk) OR (#status = :unpaid AND unpaid_expires_at <= :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':unpaid': 'unpaid',
            ':now': Math.floor(now.getTime() / 1000),
          },
        }),
      ),
    );
    if (created) return order;
    const existing = await this.get(order.order_id, now);
    if (!existing) throw new Error(`order ${order.order_id} neither created nor found`);
    return existing;
  }

  renewChallenge(orderId: string, from: string, to: string): Promise<boolean> {
    return conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.order(orderId),
          UpdateExpression: 'SET challenge_expires_at = :to',
          ConditionExpression: '#status = :unpaid AND challenge_expires_at = :from',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':unpaid': 'unpaid', ':from': from, ':to': to },
        }),
      ),
    );
  }

  private paymentLock(orderId: string): ItemLock {
    return {
      db: this.db,
      tableName: this.tableName,
      key: itemKeys.order(orderId),
      name: 'payment',
      condition: {
        expression: '#status = :unpaid',
        names: { '#status': 'status' },
        values: { ':unpaid': 'unpaid' },
      },
    };
  }

  lockForPayment(orderId: string, owner: string, until: Date, now: Date): Promise<boolean> {
    return acquireItemLock(this.paymentLock(orderId), owner, until, now);
  }

  releasePaymentLock(orderId: string, owner: string): Promise<void> {
    return releaseItemLock(this.paymentLock(orderId), owner);
  }

  settle(
    orderId: string,
    settlement: { payment: PaymentRecord; machineId: string; settledAt: string },
  ): Promise<OrderRecord | undefined> {
    return updateRecord<OrderRecord>(this.db, {
      TableName: this.tableName,
      Key: itemKeys.order(orderId),
      UpdateExpression:
        'SET #status = :settled, payment = :payment, machine_id = :machine, settled_at = :at ' +
        'REMOVE expires_at_epoch, unpaid_expires_at, payment_lock_owner, payment_lock_until',
      ConditionExpression: '#status = :unpaid',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':settled': 'settled',
        ':unpaid': 'unpaid',
        ':payment': settlement.payment,
        ':machine': settlement.machineId,
        ':at': settlement.settledAt,
      },
    });
  }

  recordRefund(orderId: string, refund: RefundRecord): Promise<boolean> {
    return conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.order(orderId),
          UpdateExpression: 'SET refund = :refund',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(refund)',
          ExpressionAttributeValues: { ':refund': refund },
        }),
      ),
    );
  }
}
