import { randomUUID } from 'node:crypto';
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
