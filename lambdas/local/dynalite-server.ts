import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../adapters/dynamodb/table-design.js';
import { dynaliteChannel } from './dynalite-channel.js';

export interface LocalDynamo {
  endpoint: string;
  /**
   * Client settings that point the AWS SDK at this server: its requests travel to the
   * dynalite thread as messages, not over a socket (`endpoint` is for other processes).
   */
  clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    requestHandler: NonNullable<DynamoDBClientConfig['requestHandler']>;
  };
  /**
   * The requests this server has answered so far, by the signing access key (the local
   * storefront gives each function its own, as each Lambda function has its own role) and
   * operation.
   */
  requests(): Promise<RequestCounts>;
  /**
   * Capacity units consumed from now on, keyed like `requests`, as dynalite computes them
   * (writes in 1 KB units, reads in 4 KB units, halved when eventually consistent; writes to
   * global secondary indexes and refused conditional writes are not counted).
   */
  meterCapacity(): void;
  /** Capacity units consumed since `meterCapacity`, keyed like `requests`. */
  capacity(): Promise<RequestCounts>;
  close(): Promise<void>;
}

/** Requests answered, keyed `<access key id> <Operation>` (e.g. `createOrder PutItem`). */
export type RequestCounts = ReadonlyMap<string, number>;

/**
 * The same client settings under another access key: each local function signs as itself, so
 * `requests` tells whose calls they were (dynalite checks no signature).
 */
export function signedAs<T extends DynamoDBClientConfig>(config: T, principal: string): T {
  return { ...config, credentials: { accessKeyId: principal, secretAccessKey: 'local' } };
}

type WorkerMessage =
  | { port: number }
  | { error: string }
  | { requests: [string, number][] }
  | { capacity: [string, number][] };

/** The next message of the worker that satisfies `wanted` (or its failure). */
function nextMessage<T extends WorkerMessage>(
  worker: Worker,
  wanted: (message: WorkerMessage) => message is T,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: WorkerMessage) => {
      if ('error' in message) done(() => reject(new Error(`dynalite: ${message.error}`)));
      else if (wanted(message)) done(() => resolve(message));
    };
    const onError = (error: Error) => done(() => reject(error));
    const onExit = (code: number) =>
      done(() => reject(new Error(`the dynalite thread ended (exit code ${code})`)));
    const done = (settle: () => void) => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      settle();
    };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}

/**
 * DynamoDB documents CreateTable as asynchronous: "Upon receiving a CreateTable request,
 * DynamoDB immediately returns a response with a TableStatus of CREATING. After the table
 * is created, DynamoDB sets the TableStatus to ACTIVE. You can perform read and write
 * operations only on an ACTIVE table." dynalite does the same (a later timer marks it
 * ACTIVE, a disk write away), so a query sent at once can meet ResourceNotFoundException.
 */
async function untilActive(client: DynamoDBClient, tableName: string) {
  for (let attempt = 0; attempt < 2000; attempt += 1) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every(
      (index) => index.IndexStatus === 'ACTIVE',
    );
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    await sleep(5);
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}

/**
 * dynalite speaks the real DynamoDB wire protocol in-process. With `dataDirectory` the
 * data survives restarts; without it everything lives in memory.
 */
export async function startLocalDynamo(options: {
  dataDirectory?: string;
  tableName: string;
}): Promise<LocalDynamo> {
  if (options.dataDirectory) mkdirSync(options.dataDirectory, { recursive: true });
  // On a thread of its own: DynamoDB is another machine on AWS, and in the API's event loop
  // dynalite's parsing, validation and LevelDB work queued every request behind it (README
  // "Performance").
  const worker = new Worker(new URL('./dynalite-worker.mjs', import.meta.url), {
    workerData: {
      options: {
        createTableMs: 0,
        deleteTableMs: 0,
        updateTableMs: 0,
        ...(options.dataDirectory ? { path: options.dataDirectory } : {}),
      },
    },
  });
  const channel = dynaliteChannel(worker);
  // A thread that fails fails the calls to it; unheard, its error would be thrown in this one.
  worker.on('error', (error) =>
    channel.failPending(new Error(`the dynalite thread failed: ${error.message}`)),
  );
  worker.once('exit', (code) =>
    channel.failPending(new Error(`the dynalite thread ended (exit code ${code})`)),
  );
  const { port } = await nextMessage(
    worker,
    (message): message is { port: number } => 'port' in message,
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const clientConfig = {
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: channel.requestHandler,
  };
  const client = new DynamoDBClient(clientConfig);
  try {
    try {
      await client.send(new CreateTableCommand(createTableInput(options.tableName)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    await untilActive(client, options.tableName);
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    clientConfig,
    requests: async () => {
      const answer = nextMessage(
        worker,
        (message): message is { requests: [string, number][] } => 'requests' in message,
      );
      worker.postMessage('requests');
      return new Map((await answer).requests);
    },
    meterCapacity: () => worker.postMessage('meter capacity'),
    capacity: async () => {
      const answer = nextMessage(
        worker,
        (message): message is { capacity: [string, number][] } => 'capacity' in message,
      );
      worker.postMessage('capacity');
      return new Map((await answer).capacity);
    },
    close: async () => {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('close');
      await exited;
    },
  };
}
