import { documentClient } from '../../adapters/dynamodb/document-client.js';
import { DynamoMachineStore } from '../../adapters/dynamodb/machine-store.js';
import { DynamoOrderStore } from '../../adapters/dynamodb/order-store.js';
import type { StoresPart } from '../storefront-parts.js';

/** Orders and machines in the storefront's DynamoDB table. */
export const tableStores: StoresPart = ({ tableName, clients }) => {
  const db = documentClient(clients.dynamodb);
  return {
    db,
    orders: new DynamoOrderStore(db, tableName),
    machines: new DynamoMachineStore(db, tableName),
  };
};
