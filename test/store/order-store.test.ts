import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { documentClient } from '../../lambdas/adapters/dynamodb/document-client.js';
import { DynamoOrderStore } from '../../lambdas/adapters/dynamodb/order-store.js';
import { itemKeys } from '../../lambdas/adapters/dynamodb/table-design.js';
import type { OrderRecord } from '../../lambdas/core/order.js';
import { orderFixture } from '../support/fixtures.js';
import {
  intercepted,
  type LocalTable,
  localTable,
  noticingConsistentReads,
} from '../support/local-table.js';

const now = new Date('2026-11-29T10:00:00.000Z');
const epoch = (date: Date) => Math.floor(date.getTime() / 1000);
const order = (overrides: Partial<OrderRecord> = {}) => orderFixture(overrides, now);

describe('order store on DynamoDB (dynalite)', () => {
  let table: LocalTable;
  let orders: DynamoOrderStore;
  beforeAll(async () => {
    table = await localTable();
  });
  afterAll(() => table.close());
  beforeEach(() => {
    orders = new DynamoOrderStore(table.db, table.tableName);
  });
  let sequence = 0;
  const fresh = (overrides: Partial<OrderRecord> = {}) =>
    order({ order_id: `order_${String(++sequence).padStart(32, '0')}`, ...overrides });

  it('opens an order once; a second open returns the stored one', async () => {
    const first = fresh();
    expect(await orders.open(first, now)).toEqual(first);
    const second = await orders.open({ ...first, fingerprint: 'fp-2' }, now);
    expect(second.fingerprint).toBe('fp-1');
    expect(await orders.get(first.order_id, now)).toEqual(first);
  });

  it('takes the stored order from the failed put when DynamoDB returns it: one round trip', async () => {
    const first = fresh();
    await orders.open(first, now);
    const { Item } = await table.db.send(
      new GetCommand({ TableName: table.tableName, Key: itemKeys.order(first.order_id) }),
    );
    // DynamoDB's answer to a failed condition asked for ALL_OLD (dynalite never sends the item):
    // a 400 whose body carries the stored item, as the API reference documents the exception.
    const sent: { target: string; body: Record<string, unknown> }[] = [];
    const asDynamoDb = documentClient({
      region: 'local',
      endpoint: 'http://dynamodb.local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
      requestHandler: {
        handle: async (request: { headers: Record<string, string>; body: string }) => {
          sent.push({
            target: request.headers['x-amz-target'] ?? '',
            body: JSON.parse(request.body),
          });
          return {
            response: {
              statusCode: 400,
              headers: { 'content-type': 'application/x-amz-json-1.0' },
              body: new TextEncoder().encode(
                JSON.stringify({
                  __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
                  message: 'The conditional request failed',
                  Item: marshall(Item),
                }),
              ),
            },
          };
        },
      } as never,
    });
    const again = await new DynamoOrderStore(asDynamoDb, table.tableName).open(
      { ...first, fingerprint: 'fp-2' },
      now,
    );
    expect(again).toEqual(first);
    expect(sent).toEqual([
      {
        target: 'DynamoDB_20120810.PutItem',
        body: expect.objectContaining({ ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
      },
    ]);
  });

  it('treats an unpaid order past its expiry as gone, and lets it be replaced', async () => {
    const stale = fresh({ unpaid_expires_at: epoch(now) + 60 });
    await orders.open(stale, now);
    const later = new Date(now.getTime() + 61_000);
    expect(await orders.get(stale.order_id, later)).toBeUndefined();
    const replacement = await orders.open({ ...stale, fingerprint: 'fp-new' }, later);
    expect(replacement.fingerprint).toBe('fp-new');
  });

  it('keeps an expired unpaid order whose payment is under way or unresolved', async () => {
    const expiring = fresh({ unpaid_expires_at: epoch(now) + 60 });
    await orders.open(expiring, now);
    const attempt = {
      key: 'k1',
      challenge_id: 'c1',
      method: 'test',
      external_id: expiring.order_id,
      amount_cents: 399,
      started_at: now.toISOString(),
      owner: 'payer',
    };
    const lockedUntil = new Date(now.getTime() + 120_000);
    await orders.lockForPayment(expiring.order_id, 'payer', lockedUntil, now, attempt);
    const expired = new Date(now.getTime() + 61_000);
    const whileLocked = await orders.open({ ...expiring, fingerprint: 'fp-new' }, expired);
    expect(whileLocked.fingerprint).toBe('fp-1');
    // The lock lapsed (the payer crashed): the attempt is the sweeper's to resolve, not to drop.
    const afterLock = new Date(lockedUntil.getTime() + 1);
    const whileUnresolved = await orders.open({ ...expiring, fingerprint: 'fp-new' }, afterLock);
    expect(whileUnresolved).toMatchObject({
      fingerprint: 'fp-1',
      payment_attempts: { k1: attempt },
    });
  });

  it('gives the payment lock to exactly one of many concurrent attempts', async () => {
    const target = await orders.open(fresh(), now);
    const until = new Date(now.getTime() + 60_000);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        orders.lockForPayment(target.order_id, `owner-${i}`, until, now),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('hands the lock on once it is released or has lapsed', async () => {
    const target = await orders.open(fresh(), now);
    const until = new Date(now.getTime() + 60_000);
    expect(await orders.lockForPayment(target.order_id, 'a', until, now)).toBeDefined();
    expect(await orders.lockForPayment(target.order_id, 'b', until, now)).toBeUndefined();
    await orders.releasePaymentLock(target.order_id, 'b');
    expect(await orders.lockForPayment(target.order_id, 'b', until, now)).toBeUndefined();
    await orders.releasePaymentLock(target.order_id, 'a');
    expect(await orders.lockForPayment(target.order_id, 'b', until, now)).toBeDefined();
    const afterLapse = new Date(until.getTime() + 1);
    expect(
      await orders.lockForPayment(
        target.order_id,
        'c',
        new Date(afterLapse.getTime() + 60_000),
        afterLapse,
      ),
    ).toBeDefined();
  });

  it('settles an order exactly once, even when asked concurrently', async () => {
    const target = await orders.open(fresh(), now);
    const results = await Promise.all(
      ['machine_a000000000000001', 'machine_b000000000000002', 'machine_c000000000000003'].map(
        (machineId) =>
          orders.settle(target.order_id, {
            payment: { method: 'test', reference: machineId, receipt_header: 'r' },
            machineId,
            settledAt: now.toISOString(),
            checkAt: now.toISOString(),
          }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const settled = await orders.get(target.order_id, now);
    expect(settled?.status).toBe('settled');
    expect(settled?.payment?.reference).toBe(settled?.machine_id);
    // A settled order never expires.
    expect(settled?.unpaid_expires_at).toBeUndefined();
    expect(
      await orders.get(target.order_id, new Date(now.getTime() + 10 * 86_400_000)),
    ).toBeDefined();
    expect(
      await orders.lockForPayment(target.order_id, 'late', new Date(now.getTime() + 1000), now),
    ).toBeUndefined();
  });

  it('renews the challenge expiry only from the value it expects', async () => {
    const target = await orders.open(fresh(), now);
    expect(await orders.renewChallenge(target.order_id, 'wrong', '2026-11-29T11:00:00.000Z')).toBe(
      false,
    );
    expect(
      await orders.renewChallenge(
        target.order_id,
        target.challenge_expires_at,
        '2026-11-29T11:00:00.000Z',
      ),
    ).toBe(true);
    expect((await orders.get(target.order_id, now))?.challenge_expires_at).toBe(
      '2026-11-29T11:00:00.000Z',
    );
  });

  it('records an attempt with the lock, keeps the first record, and lists the order for the sweeper', async () => {
    const target = await orders.open(fresh(), now);
    const until = new Date(now.getTime() + 60_000);
    const attempt = {
      key: 'k1',
      challenge_id: 'c1',
      method: 'test',
      external_id: target.order_id,
      amount_cents: 399,
      started_at: now.toISOString(),
      owner: 'first',
    };
    const locked = await orders.lockForPayment(target.order_id, 'first', until, now, attempt);
    expect(locked?.payment_attempts).toEqual({ k1: attempt });
    // Listed once its lock has lapsed, not before.
    expect((await orders.dueForSweep(now, 100)).map((o) => o.order_id)).not.toContain(
      target.order_id,
    );
    const later = new Date(until.getTime() + 1);
    expect((await orders.dueForSweep(later, 100)).map((o) => o.order_id)).toContain(
      target.order_id,
    );
    const relocked = await orders.lockForPayment(
      target.order_id,
      'second',
      new Date(later.getTime() + 60_000),
      later,
      { ...attempt, owner: 'second' },
    );
    expect(relocked?.payment_attempts?.k1?.owner).toBe('first');
    // While an attempt is recorded the order stays listed (due when the new lock lapses);
    // forgetting the attempt is for the lock's holder only.
    const afterSecondLock = new Date(later.getTime() + 61_000);
    await orders.closeSweep(target.order_id);
    expect((await orders.dueForSweep(afterSecondLock, 100)).map((o) => o.order_id)).toContain(
      target.order_id,
    );
    await orders.forgetAttempt(target.order_id, 'first', 'k1');
    expect((await orders.get(target.order_id, later))?.payment_attempts).toBeDefined();
    await orders.forgetAttempt(target.order_id, 'second', 'k1');
    expect((await orders.get(target.order_id, later))?.payment_attempts).toBeUndefined();
    await orders.closeSweep(target.order_id);
    expect((await orders.dueForSweep(afterSecondLock, 100)).map((o) => o.order_id)).not.toContain(
      target.order_id,
    );
  });

  it('reads an order with strong consistency, alone and from the sweep list', async () => {
    // "GetItem provides an eventually consistent read by default ... a strongly consistent read
    // ... always returns the last updated value" (DynamoDB API reference): a read right after
    // a lock or a settlement must not see the order as it was. dynalite's reads are always
    // consistent, so what is asked for is checked instead.
    const reads = noticingConsistentReads(table.db);
    const watched = new DynamoOrderStore(reads.db, table.tableName);
    const target = order();
    await orders.open(target, now);
    const until = new Date(now.getTime() + 60_000);
    await orders.lockForPayment(target.order_id, 'owner', until, now, {
      key: 'k1',
      challenge_id: 'c1',
      method: 'test',
      external_id: target.order_id,
      amount_cents: 399,
      started_at: now.toISOString(),
      owner: 'owner',
    });
    expect(await watched.get(target.order_id, now)).toBeDefined();
    expect(reads.asked).toEqual([true]);
    reads.asked.length = 0;
    const due = await watched.dueForSweep(new Date(until.getTime() + 1), 100);
    expect(due.map((o) => o.order_id)).toContain(target.order_id);
    expect(reads.asked.length).toBeGreaterThan(0);
    expect(new Set(reads.asked)).toEqual(new Set([true]));
  });

  it('labels its item as an order in the shared table, and keeps the label out of the record', async () => {
    const target = fresh();
    await orders.open(target, now);
    const { Item } = await table.db.send(
      new GetCommand({ TableName: table.tableName, Key: itemKeys.order(target.order_id) }),
    );
    // Orders, machines, blocks, replay markers and snapshots share one table: read raw (the
    // console, an export) an item says what it is by its kind.
    expect(Item?.kind).toBe('order');
    expect(await orders.get(target.order_id, now)).not.toHaveProperty('kind');
  });

  // An open that found the stored order expired replaces it with a second conditional put; by
  // then a rival open may have replaced it already. The put's condition, not the earlier read,
  // decides: DynamoDB compares unpaid_expires_at (epoch seconds) with the open's now.
  it.each([
    { rivalExpiresIn: 1, outcome: 'keeps the rival order, which has not expired', kept: true },
    {
      rivalExpiresIn: 0,
      outcome: 'replaces the rival order, expired that very second',
      kept: false,
    },
  ])('open racing a replacement $outcome', async ({ rivalExpiresIn, kept }) => {
    const expiresAt = epoch(now) + 60;
    const stale = fresh({ unpaid_expires_at: expiresAt });
    await orders.open(stale, now);
    // Half a second into the second the stale order expired at: the seconds are rounded down.
    const later = new Date(expiresAt * 1000 + 500);
    const rival = {
      ...stale,
      fingerprint: 'fp-rival',
      unpaid_expires_at: expiresAt + rivalExpiresIn,
    };
    let rivalled = false;
    const racing = new DynamoOrderStore(
      intercepted(table.db, async (command, send) => {
        const answer = await send();
        // The rival replaces the stale order just after this open has read it.
        if (command instanceof GetCommand && !rivalled) {
          rivalled = true;
          expect((await orders.open(rival, later)).fingerprint).toBe('fp-rival');
        }
        return answer;
      }),
      table.tableName,
    );
    const opened = await racing.open(
      { ...stale, fingerprint: 'fp-late', unpaid_expires_at: epoch(later) + 86_400 },
      later,
    );
    expect(rivalled).toBe(true);
    const winner = kept ? 'fp-rival' : 'fp-late';
    expect(opened.fingerprint).toBe(winner);
    expect((await orders.get(stale.order_id, later))?.fingerprint).toBe(winner);
  });

  it('surfaces a put that fails for another reason than its condition (throttling)', async () => {
    const throttled = new ProvisionedThroughputExceededException({
      message: 'The level of configured provisioned throughput for the table was exceeded.',
      $metadata: {},
    });
    const throttling = new DynamoOrderStore(
      intercepted(table.db, (command, send) =>
        command instanceof PutCommand ? Promise.reject(throttled) : send(),
      ),
      table.tableName,
    );
    const target = fresh();
    await expect(throttling.open(target, now)).rejects.toBe(throttled);
    expect(await orders.get(target.order_id, now)).toBeUndefined();
  });

  it('fails an open whose order vanished between its failed put and the read (TTL deletion), rather than report it opened', async () => {
    const expiring = fresh({ unpaid_expires_at: epoch(now) + 60 });
    await orders.open(expiring, now);
    const key = itemKeys.order(expiring.order_id);
    const deletedByTtl = new DynamoOrderStore(
      intercepted(table.db, async (command, send) => {
        try {
          return await send();
        } catch (error) {
          if (command instanceof PutCommand)
            await table.db.send(new DeleteCommand({ TableName: table.tableName, Key: key }));
          throw error;
        }
      }),
      table.tableName,
    );
    const later = new Date(now.getTime() + 61_000);
    await expect(deletedByTtl.open({ ...expiring, fingerprint: 'fp-new' }, later)).rejects.toThrow(
      `order ${expiring.order_id} neither created nor found`,
    );
    expect(await orders.get(expiring.order_id, later)).toBeUndefined();
  });
});
