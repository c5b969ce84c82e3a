import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createTableInput } from '../adapters/dynamodb/table-design.js';

export interface LocalDynamo {
  endpoint: string;
  /** Client settings that point the AWS SDK at this server. */
  clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  close(): Promise<void>;
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
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dataDirectory ? { path: options.dataDirectory } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const clientConfig = {
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
