import { Store } from 'mppx';
import { dynamoReplayStore } from '../../lambdas/adapters/payments/replay-store.js';
import { type LocalTable, localTable } from '../support/local-table.js';

describe('mppx replay store on DynamoDB (dynalite)', () => {
  let table: LocalTable;
  let store: Store.AtomicStore;
  beforeAll(async () => {
    table = await localTable();
    store = dynamoReplayStore(table.db, table.tableName);
  });
  afterAll(() => table.close());

  it('lets exactly one of 20 concurrent claims of a credential win', async () => {
    const expires = Date.now() + 60_000;
    const claims = await Promise.all(
      Array.from({ length: 20 }, () => Store.tryClaim(store, 'charge:abc', expires)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
  });

  it('lets an expired marker be claimed again', async () => {
    expect(await Store.tryClaim(store, 'charge:old', Date.now() - 1)).toBe(true);
    expect(await Store.tryClaim(store, 'charge:old', Date.now() + 60_000)).toBe(true);
    expect(await Store.tryClaim(store, 'charge:old', Date.now() + 60_000)).toBe(false);
  });

  it('serialises concurrent read-modify-write updates', async () => {
    await Promise.all(
      Array.from({ length: 8 }, () =>
        store.update('counter', (current: unknown) => ({
          op: 'set' as const,
          value: (typeof current === 'number' ? current : 0) + 1,
          result: undefined,
        })),
      ),
    );
    expect(await store.get('counter')).toBe(8);
  });

  it('gets, puts and deletes plain values', async () => {
    await store.put('plain', { a: 1 });
    expect(await store.get('plain')).toEqual({ a: 1 });
    await store.delete('plain');
    expect(await store.get('plain')).toBeNull();
  });
});
