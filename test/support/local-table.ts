import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  type DocumentDb,
  documentClient,
} from '../../lambdas/adapters/dynamodb/document-client.js';
import { type LocalDynamo, startLocalDynamo } from '../../lambdas/local/dynalite-server.js';

export interface LocalTable {
  db: DocumentDb;
  tableName: string;
  dynamo: LocalDynamo;
  close(): Promise<void>;
}

/** A fresh in-memory DynamoDB (dynalite, real wire protocol) holding the storefront table. */
export async function localTable(): Promise<LocalTable> {
  const tableName = `test-${randomUUID().slice(0, 8)}`;
  const dynamo = await startLocalDynamo({ tableName });
  const db = documentClient(dynamo.clientConfig);
  return {
    db,
    tableName,
    dynamo,
    close: async () => {
      db.destroy();
      await dynamo.close();
    },
  };
}

/** The table's client, with `around` deciding what each command does (and when it is sent). */
export const intercepted = (
  db: DocumentDb,
  around: (command: unknown, send: () => Promise<unknown>) => Promise<unknown>,
): DocumentDb => ({
  send: ((command: unknown) =>
    around(command, () => db.send(command as never))) as DocumentDb['send'],
});

/**
 * The table's client, noting what each GetItem asked for as `ConsistentRead`: dynalite's reads
 * are always consistent, so a store's reads can only be checked by what they ask for.
 */
export function noticingConsistentReads(db: DocumentDb) {
  const asked: unknown[] = [];
  const watched = intercepted(db, async (command, send) => {
    if (command instanceof GetCommand) asked.push(command.input.ConsistentRead);
    return send();
  });
  return { db: watched, asked };
}
