import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../lambdas/adapters/dynamodb/document-client.js';
import { LIVE_PARTITION, TABLE_DESIGN } from '../../lambdas/adapters/dynamodb/table-design.js';
import { type LocalTable, localTable } from '../support/local-table.js';

type ReadCommand = GetCommand | QueryCommand | ScanCommand;

const item = (n: number) => ({
  pk: `TEST#${n}`,
  sk: 'ITEM',
  live_pk: LIVE_PARTITION,
  live_sk: `2026-12-06T00:00:0${n}Z#m-${n}`,
  count: n,
  tags: ['a', 'b'],
  nested: { deep: { flag: n % 2 === 0, note: null } },
  gone: undefined,
});

/**
 * The stores' document client marshals the document commands itself (to send them through a
 * client that caches its middleware); what comes back must be what lib-dynamodb's own
 * document client returns for the same calls on the same table.
 */
describe('the document client (cached middleware) against DynamoDB (dynalite)', () => {
  let table: LocalTable;
  let sdkDocumentClient: DynamoDBDocumentClient;
  beforeAll(async () => {
    table = await localTable();
    sdkDocumentClient = DynamoDBDocumentClient.from(new DynamoDBClient(table.dynamo.clientConfig), {
      marshallOptions: { removeUndefinedValues: true },
    });
    for (const n of [1, 2, 3]) {
      await table.db.send(new PutCommand({ TableName: table.tableName, Item: item(n) }));
    }
  });
  afterAll(() => {
    sdkDocumentClient.destroy();
    return table.close();
  });

  it('is built to resolve each command type’s middleware once', () => {
    const { client } = table.db as unknown as { client: { config: { cacheMiddleware?: boolean } } };
    expect(client.config.cacheMiddleware).toBe(true);
  });

  it('reads, updates, queries, scans and deletes as lib-dynamodb’s document client does', async () => {
    const { tableName } = table;
    const send = (client: { send(command: never): Promise<unknown> }, command: ReadCommand) =>
      client.send(command as never);
    const both = async (command: () => ReadCommand) => {
      const ours = await send(table.db, command());
      const theirs = await send(sdkDocumentClient, command());
      const { $metadata: _ours, ...oursRest } = ours as { $metadata: unknown };
      const { $metadata: _theirs, ...theirsRest } = theirs as { $metadata: unknown };
      expect(oursRest).toEqual(theirsRest);
      return oursRest as Record<string, unknown>;
    };

    const got = await both(
      () => new GetCommand({ TableName: tableName, Key: { pk: 'TEST#2', sk: 'ITEM' } }),
    );
    expect(got.Item).toEqual({ ...item(2), gone: undefined });
    expect(got.Item).not.toHaveProperty('gone');
    const missing = await both(
      () => new GetCommand({ TableName: tableName, Key: { pk: 'TEST#9', sk: 'ITEM' } }),
    );
    expect(missing.Item).toBeUndefined();

    const updated = await table.db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: 'TEST#1', sk: 'ITEM' },
        UpdateExpression: 'SET #count = #count + :one',
        ConditionExpression: '#count = :was',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':one': 1, ':was': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    expect(updated.Attributes).toMatchObject({ pk: 'TEST#1', count: 2 });

    const liveLeases = (page: { Limit?: number; ExclusiveStartKey?: Record<string, unknown> }) =>
      both(
        () =>
          new QueryCommand({
            TableName: tableName,
            IndexName: TABLE_DESIGN.liveLeasesIndex.name,
            KeyConditionExpression: 'live_pk = :live',
            ExpressionAttributeValues: { ':live': LIVE_PARTITION },
            ...page,
          }),
      );
    const firstPage = await liveLeases({ Limit: 2 });
    expect((firstPage.Items as { pk: string }[]).map((i) => i.pk)).toEqual(['TEST#1', 'TEST#2']);
    const secondPage = await liveLeases({
      ExclusiveStartKey: firstPage.LastEvaluatedKey as Record<string, unknown>,
    });
    expect((secondPage.Items as { pk: string }[]).map((i) => i.pk)).toEqual(['TEST#3']);

    const scanned = await both(
      () =>
        new ScanCommand({
          TableName: tableName,
          FilterExpression: '#count >= :min',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':min': 2 },
        }),
    );
    expect(scanned.Items).toHaveLength(3);

    const deleted = await table.db.send(
      new DeleteCommand({
        TableName: tableName,
        Key: { pk: 'TEST#3', sk: 'ITEM' },
        ReturnValues: 'ALL_OLD',
      }),
    );
    expect(deleted.Attributes).toMatchObject({ pk: 'TEST#3', count: 3 });
  });

  it('fails a condition as DynamoDB does, and refuses a command it does not marshal', async () => {
    await expect(
      table.db.send(
        new PutCommand({
          TableName: table.tableName,
          Item: item(1),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    await expect(
      table.db.send(
        new BatchGetCommand({
          RequestItems: { [table.tableName]: { Keys: [{ pk: 'TEST#1', sk: 'ITEM' }] } },
        }),
      ),
    ).rejects.toThrow('BatchGetCommand is not a document command this client sends');
  });
});

/** Enough for the scan to outlast any pause of the test's own thread between two statements. */
const SCANNED_ITEMS = 1000;

/** What the SDK's request handler answers: the status and body the socket would have carried. */
type RawHandler = {
  handle(request: unknown): Promise<{ response: { statusCode: number; body: Uint8Array } }>;
};

describe('the local DynamoDB once closed', () => {
  it('refuses a request that reaches it while it closes with a 503 (which the SDK retries), instead of running it', async () => {
    const table = await localTable();
    await Promise.all(
      Array.from({ length: SCANNED_ITEMS }, (_, n) =>
        table.db.send(new PutCommand({ TableName: table.tableName, Item: item(n) })),
      ),
    );
    const handler = table.dynamo.clientConfig.requestHandler as unknown as RawHandler;
    const call = (operation: string, body: unknown) =>
      handler.handle({
        method: 'POST',
        path: '/',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `DynamoDB_20120810.${operation}`,
          'x-amz-date': '20261206T000000Z',
          host: 'localhost',
          authorization:
            'AWS4-HMAC-SHA256 Credential=test/20261206/local/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0',
        },
        body: JSON.stringify(body),
      });
    // Messages reach the thread in the order they were posted: the close and the late read
    // queue behind the scan, so the read arrives once the table is closing. The three are
    // posted in one synchronous block; only a stall of this thread longer than the scan and
    // the close (about 30 ms for 1000 items, 10 ms for 200) between two of those statements
    // would let the thread end before the read reaches it.
    const busy = call('Scan', { TableName: table.tableName });
    const closed = table.dynamo.close();
    const late = call('GetItem', {
      TableName: table.tableName,
      Key: { pk: { S: 'TEST#1' }, sk: { S: 'ITEM' } },
    });
    expect((await busy).response.statusCode).toBe(200);
    const { response } = await late;
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(new TextDecoder().decode(response.body))).toMatchObject({
      __type: expect.stringMatching(/#ServiceUnavailable$/),
    });
    await closed;
  });

  it('fails a later call at once (its thread has ended) instead of leaving it unanswered', async () => {
    const table = await localTable();
    const db = documentClient({ ...table.dynamo.clientConfig, maxAttempts: 1 });
    await table.close();
    await expect(
      db.send(new GetCommand({ TableName: table.tableName, Key: { pk: 'TEST#1', sk: 'ITEM' } })),
    ).rejects.toThrow(/the dynalite thread ended/);
  });
});
