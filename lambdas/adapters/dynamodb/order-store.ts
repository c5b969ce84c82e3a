import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isExpiredUnpaid, type OrderRecord } from '../../core/order.js';
import type {
  DuplicatePayment,
  PaymentAttempt,
  PaymentRecord,
  RefundRecord,
} from '../../core/payment-records.js';
import type { OrderStore } from '../../core/ports.js';
import {
  conditionally,
  type DocumentDb,
  isConditionFailure,
  itemOfConditionFailure,
  recordOf,
  updateRecord,
} from './document-client.js';
import { type ItemLock, releaseItemLock } from './item-lock.js';
import { dueForSweep } from './sweep-queue.js';
import { itemKeys, KEY_PREFIX, sweepKey } from './table-design.js';

/** An order as stored, without the empty attempt map every order carries. */
function orderOf(item: Record<string, unknown>): OrderRecord {
  const { payment_attempts, duplicate_payments, ...order } = recordOf<OrderRecord>(item);
  return {
    ...order,
    ...(payment_attempts && Object.keys(payment_attempts).length ? { payment_attempts } : {}),
    ...(duplicate_payments && Object.keys(duplicate_payments).length ? { duplicate_payments } : {}),
  };
}

export class DynamoOrderStore implements OrderStore {
  constructor(
    private readonly db: DocumentDb,
    private readonly tableName: string,
  ) {}

  async get(orderId: string, now: Date): Promise<OrderRecord | undefined> {
    const order = await this.stored(orderId);
    return order && isExpiredUnpaid(order, now) ? undefined : order;
  }

  /** The stored order as it is, expired or not. */
  private async stored(orderId: string): Promise<OrderRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: itemKeys.order(orderId),
        ConsistentRead: true,
      }),
    );
    return Item ? orderOf(Item) : undefined;
  }

  async open(order: OrderRecord, now: Date): Promise<OrderRecord> {
    const stored = await this.putOrder(order, { expression: 'attribute_not_exists(pk)' });
    if (!stored) return order;
    // An unpaid order whose expiry has passed is replaced, unless a payment attempt is on
    // record: written with the payment lock before any money moves, it is the only trace of a
    // charge whose outcome a crash left unknown, and the sweeper still has to settle it.
    if (!isExpiredUnpaid(stored, now) || stored.payment_attempts) return stored;
    const replacedBy = await this.putOrder(order, {
      expression:
        '#status = :unpaid AND unpaid_expires_at <= :now AND size(payment_attempts) = :none',
      names: { '#status': 'status' },
      values: { ':unpaid': 'unpaid', ':now': Math.floor(now.getTime() / 1000), ':none': 0 },
    });
    return replacedBy ?? order;
  }

  /**
   * Puts a new order item if `condition` holds: undefined when it was put, else the order
   * stored instead. The first condition is the plain one a new order needs; the replacement's
   * (size() and all) is only parsed on the rare order that replaces an expired one: dynalite's
   * expression parser took 1-2 ms more per put with it.
   */
  private async putOrder(
    order: OrderRecord,
    condition: {
      expression: string;
      names?: Record<string, string>;
      values?: Record<string, unknown>;
    },
  ): Promise<OrderRecord | undefined> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...itemKeys.order(order.order_id),
            kind: 'order',
            ...order,
            // Present from the start, so an attempt is recorded with one nested SET.
            payment_attempts: order.payment_attempts ?? {},
            duplicate_payments: order.duplicate_payments ?? {},
            expires_at_epoch: order.unpaid_expires_at,
          },
          ConditionExpression: condition.expression,
          ExpressionAttributeNames: condition.names,
          ExpressionAttributeValues: condition.values,
          // The stored order comes back with the condition's failure, no second round trip
          // (ConditionalCheckFailedException's "Item: Item which caused the
          // ConditionalCheckFailedException", DynamoDB API reference). dynalite does not send it
          // (its issue #182), so locally the order is read after the failed put.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return undefined;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const returned = itemOfConditionFailure(error);
      const stored = returned ? orderOf(returned) : await this.stored(order.order_id);
      if (!stored) throw new Error(`order ${order.order_id} neither created nor found`);
      return stored;
    }
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
    };
  }

  async lockForPayment(
    orderId: string,
    owner: string,
    until: Date,
    now: Date,
    attempt?: PaymentAttempt,
  ): Promise<OrderRecord | undefined> {
    const key = itemKeys.order(orderId);
    const item = await updateRecord<Record<string, unknown>>(this.db, {
      TableName: this.tableName,
      Key: key,
      UpdateExpression: `SET payment_lock_owner = :owner, payment_lock_until = :until${
        attempt
          ? ', payment_attempts.#attempt = if_not_exists(payment_attempts.#attempt, :attempt), sweep_pk = :sweepPk, sweep_sk = :sweepSk'
          : ''
      }`,
      ConditionExpression:
        'attribute_exists(pk) AND #status = :unpaid AND (attribute_not_exists(payment_lock_until) OR payment_lock_until < :now)',
      ExpressionAttributeNames: {
        '#status': 'status',
        ...(attempt ? { '#attempt': attempt.key } : {}),
      },
      ExpressionAttributeValues: {
        ':owner': owner,
        ':until': until.getTime(),
        ':now': now.getTime(),
        ':unpaid': 'unpaid',
        ...(attempt
          ? {
              ':attempt': attempt,
              // Looked at again once the lock has lapsed: by then the attempt is orphaned.
              ...prefixed(sweepKey(until.toISOString(), key.pk)),
            }
          : {}),
      },
    });
    return item ? orderOf(item) : undefined;
  }

  async releasePaymentLock(orderId: string, owner: string, attemptKey?: string): Promise<void> {
    if (!attemptKey) return releaseItemLock(this.paymentLock(orderId), owner);
    await conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.order(orderId),
          UpdateExpression:
            'REMOVE payment_lock_owner, payment_lock_until, payment_attempts.#attempt',
          ConditionExpression: 'payment_lock_owner = :owner',
          ExpressionAttributeNames: { '#attempt': attemptKey },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      ),
    );
  }

  async forgetAttempt(orderId: string, owner: string, attemptKey: string): Promise<void> {
    await conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.order(orderId),
          UpdateExpression: 'REMOVE payment_attempts.#attempt',
          ConditionExpression: 'payment_lock_owner = :owner',
          ExpressionAttributeNames: { '#attempt': attemptKey },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      ),
    );
  }

  async settle(
    orderId: string,
    settlement: { payment: PaymentRecord; machineId: string; settledAt: string; checkAt: string },
  ): Promise<OrderRecord | undefined> {
    const key = itemKeys.order(orderId);
    const item = await updateRecord<Record<string, unknown>>(this.db, {
      TableName: this.tableName,
      Key: key,
      UpdateExpression:
        'SET #status = :settled, payment = :payment, machine_id = :machine, settled_at = :at, ' +
        'payment_attempts = :none, sweep_pk = if_not_exists(sweep_pk, :sweepPk), ' +
        'sweep_sk = if_not_exists(sweep_sk, :sweepSk) ' +
        'REMOVE expires_at_epoch, unpaid_expires_at, payment_lock_owner, payment_lock_until',
      ConditionExpression: '#status = :unpaid',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':settled': 'settled',
        ':unpaid': 'unpaid',
        ':payment': settlement.payment,
        ':machine': settlement.machineId,
        ':at': settlement.settledAt,
        ':none': {},
        ...prefixed(sweepKey(settlement.checkAt, key.pk)),
      },
    });
    return item ? orderOf(item) : undefined;
  }

  async recordDuplicatePayment(
    orderId: string,
    duplicate: DuplicatePayment,
    checkAt: string,
  ): Promise<void> {
    const key = itemKeys.order(orderId);
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression:
          'SET duplicate_payments.#ref = if_not_exists(duplicate_payments.#ref, :duplicate), sweep_pk = :sweepPk, sweep_sk = :sweepSk',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#ref': duplicate.payment.reference },
        ExpressionAttributeValues: {
          ':duplicate': duplicate,
          ...prefixed(sweepKey(checkAt, key.pk)),
        },
      }),
    );
  }

  async recordDuplicateRefund(orderId: string, reference: string, refund: RefundRecord) {
    await conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.order(orderId),
          UpdateExpression: 'SET duplicate_payments.#ref.refund = :refund',
          ConditionExpression: 'attribute_exists(duplicate_payments.#ref)',
          ExpressionAttributeNames: { '#ref': reference },
          ExpressionAttributeValues: { ':refund': refund },
        }),
      ),
    );
  }

  updatePendingRefund(orderId: string, refund: RefundRecord): Promise<boolean> {
    return conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.order(orderId),
          UpdateExpression: 'SET refund = :refund',
          ConditionExpression: 'refund.#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':refund': refund, ':pending': 'pending' },
        }),
      ),
    );
  }

  async dueForSweep(now: Date, limit: number): Promise<OrderRecord[]> {
    const orders: OrderRecord[] = [];
    for (const key of await dueForSweep(this.db, this.tableName, KEY_PREFIX.order, now, limit)) {
      const { Item } = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      if (Item) orders.push(orderOf(Item));
    }
    return orders;
  }

  async scheduleSweep(orderId: string, checkAt: string): Promise<void> {
    const key = itemKeys.order(orderId);
    await conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET sweep_pk = :sweepPk, sweep_sk = :sweepSk',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: prefixed(sweepKey(checkAt, key.pk)),
        }),
      ),
    );
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

  async closeSweep(orderId: string): Promise<void> {
    await conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.order(orderId),
          UpdateExpression: 'REMOVE sweep_pk, sweep_sk',
          // A request that has just recorded an attempt keeps the order on the list.
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(payment_attempts) OR size(payment_attempts) = :none)',
          ExpressionAttributeValues: { ':none': 0 },
        }),
      ),
    );
  }
}

/** `{ sweep_pk, sweep_sk }` as `{ ':sweepPk', ':sweepSk' }` expression values. */
function prefixed(keys: { sweep_pk: string; sweep_sk: string }) {
  return { ':sweepPk': keys.sweep_pk, ':sweepSk': keys.sweep_sk };
}
