import { createServer, request as forward, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TABLE_DESIGN } from '../../adapters/dynamodb/table-design.js';
import type { SimulatedAwsLimits, ThrottleCounts } from './documented-limits.js';

type AttributeValue = { S?: string };
type DynamoRequest = {
  Key?: Record<string, AttributeValue>;
  Item?: Record<string, AttributeValue>;
  UpdateExpression?: string;
  IndexName?: string;
  ConsistentRead?: boolean;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
};

export interface HotPartitionProxy {
  endpoint: string;
  readonly refused: ThrottleCounts;
  /** The busiest second of each partition so far: write and read units. */
  peaks(): { partition: string; writeUnits: number; readUnits: number }[];
  close(): Promise<void>;
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);
const READS = new Set(['GetItem', 'Query']);
const { partitionKey, liveLeasesIndex, sweepIndex } = TABLE_DESIGN;

/**
 * The partitions a request lands on: its item's table partition, and the GSI partitions it
 * writes. Both indexes have one constant partition key (LIVE, SWEEP), so every write that sets
 * or removes it lands on that one index partition. A machine item is taken to be live (its
 * index projects ALL attributes, so any write to a live machine rewrites its index entry):
 * a pessimistic reading, since ended machines leave the index.
 */
function partitionsOf(operation: string, body: DynamoRequest): string[] {
  if (operation === 'Query') {
    const value = Object.values(body.ExpressionAttributeValues ?? {})[0]?.S ?? '?';
    return [body.IndexName ? `index ${body.IndexName} ${value}` : `table ${value}`];
  }
  const item = body.Item ?? body.Key ?? {};
  const partitions = [`table ${item[partitionKey]?.S ?? '?'}`];
  if (!WRITES.has(operation)) return partitions;
  const expression = body.UpdateExpression ?? '';
  const touches = (attribute: string) =>
    body.Item?.[attribute] !== undefined || expression.includes(attribute);
  if (touches(sweepIndex.partitionKey)) partitions.push(`index ${sweepIndex.name} SWEEP`);
  if (
    touches(liveLeasesIndex.partitionKey) ||
    body.Key?.sk?.S === 'MACHINE' ||
    body.Item?.sk?.S === 'MACHINE'
  ) {
    partitions.push(`index ${liveLeasesIndex.name} LIVE`);
  }
  return partitions;
}

const readBody = (incoming: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => resolve(Buffer.concat(chunks)));
    incoming.on('error', reject);
  });

/**
 * An HTTP proxy in front of the local DynamoDB (dynalite) that enforces the per-partition
 * throughput AWS documents: each partition, table or index, serves so many write and read
 * units a second (counted in one-second windows of real time; a write is one unit per KB of
 * request, one on the keys-only sweep index; a read one unit, half when eventually consistent). A request over a partition's
 * limit gets DynamoDB's own throttling answer (HTTP 400,
 * ProvisionedThroughputExceededException), which the AWS SDK retries with backoff.
 */
export async function startHotPartitionProxy(
  target: string,
  limits: NonNullable<SimulatedAwsLimits['dynamodb']>,
  realNow: () => number = Date.now,
): Promise<HotPartitionProxy> {
  const writeLimit = limits.writeUnitsPerPartitionPerSecond ?? Number.POSITIVE_INFINITY;
  const readLimit = limits.readUnitsPerPartitionPerSecond ?? Number.POSITIVE_INFINITY;
  const windows = new Map<string, { second: number; write: number; read: number }>();
  const peaks = new Map<string, { writeUnits: number; readUnits: number }>();
  const refused: ThrottleCounts = {};
  const targetUrl = new URL(target);

  const admit = (operation: string, body: DynamoRequest, bytes: number): boolean => {
    const isWrite = WRITES.has(operation);
    if (!isWrite && !READS.has(operation)) return true;
    const units = isWrite ? Math.max(1, Math.ceil(bytes / 1024)) : body.ConsistentRead ? 1 : 0.5;
    const second = Math.floor(realNow() / 1000);
    const partitions = partitionsOf(operation, body);
    // The sweep index projects keys only: its entry is one unit whatever the item's size.
    const unitsOn = (partition: string) =>
      isWrite && partition.startsWith(`index ${sweepIndex.name} `) ? 1 : units;
    const counters = partitions.map((partition) => {
      let counter = windows.get(partition);
      if (!counter || counter.second !== second) {
        counter = { second, write: 0, read: 0 };
        windows.set(partition, counter);
      }
      return { partition, counter };
    });
    const over = counters.find(({ partition, counter }) =>
      isWrite
        ? counter.write + unitsOn(partition) > writeLimit
        : counter.read + unitsOn(partition) > readLimit,
    );
    if (over) {
      const key = `${isWrite ? 'write' : 'read'} ${over.partition.split(' ').slice(0, 2).join(' ')}`;
      refused[key] = (refused[key] ?? 0) + 1;
      return false;
    }
    for (const { partition, counter } of counters) {
      if (isWrite) counter.write += unitsOn(partition);
      else counter.read += unitsOn(partition);
      const peak = peaks.get(partition) ?? { writeUnits: 0, readUnits: 0 };
      peak.writeUnits = Math.max(peak.writeUnits, counter.write);
      peak.readUnits = Math.max(peak.readUnits, counter.read);
      peaks.set(partition, peak);
    }
    return true;
  };

  const server = createServer(async (incoming, outgoing) => {
    try {
      const body = await readBody(incoming);
      const operation = String(incoming.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      let parsed: DynamoRequest = {};
      try {
        parsed = JSON.parse(body.toString('utf8') || '{}') as DynamoRequest;
      } catch {
        // Not JSON: dynalite answers it as DynamoDB would.
      }
      if (!admit(operation, parsed, body.length)) {
        outgoing.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        outgoing.end(
          JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
            message:
              'Throughput exceeds the current capacity for one or more partitions (KeyRangeThroughputExceeded).',
          }),
        );
        return;
      }
      const upstream = forward(
        {
          host: targetUrl.hostname,
          port: targetUrl.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(outgoing);
        },
      );
      upstream.on('error', (error) => outgoing.destroy(error));
      upstream.end(body);
    } catch (error) {
      outgoing.destroy(error as Error);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    refused,
    peaks: () =>
      [...peaks.entries()]
        .map(([partition, peak]) => ({ partition, ...peak }))
        .sort((a, b) => b.writeUnits - a.writeUnits),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
