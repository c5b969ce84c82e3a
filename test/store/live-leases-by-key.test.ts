import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, type QueryCommand } from '@aws-sdk/lib-dynamodb';
import { LeaseLifecycleStore } from '../../lambdas/adapters/dynamodb/lease-lifecycle-store.js';
import { liveLeasesOfKey } from '../../lambdas/adapters/dynamodb/live-leases.js';
import { DynamoMachineStore } from '../../lambdas/adapters/dynamodb/machine-store.js';
import {
  createTableInput,
  itemKeys,
  liveKeyLeaseKey,
  TABLE_DESIGN,
} from '../../lambdas/adapters/dynamodb/table-design.js';
import { sshKeyFingerprint } from '../../lambdas/core/blocks.js';
import { newMachineId } from '../../lambdas/core/ids.js';
import type { ProductId } from '../../lambdas/core/products.js';
import { machineFixture } from '../support/fixtures.js';
import { type LocalTable, localTable } from '../support/local-table.js';

const now = new Date('2026-11-29T10:00:00.000Z');
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1x';
const OTHER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2y';

const leaseOf = (sshPublicKey: string, product: ProductId = 'bare-linux-machine') =>
  machineFixture({ machineId: newMachineId(), now, sshPublicKey, product });

describe("one SSH key's live leases, from its own index partition (dynalite)", () => {
  let table: LocalTable;
  let machines: DynamoMachineStore;
  let lifecycle: LeaseLifecycleStore;
  beforeAll(async () => {
    table = await localTable();
    machines = new DynamoMachineStore(table.db, table.tableName);
    lifecycle = new LeaseLifecycleStore(table.db, table.tableName, 30);
  });
  afterAll(() => table.close());

  it('counts the live leases of the key, whatever their comment, by product; ended ones leave', async () => {
    const first = await machines.create(leaseOf(`${KEY} agent@one`));
    const second = await machines.create(leaseOf(`${KEY} agent@two`, 'gpu-h100-machine'));
    const third = await machines.create(leaseOf(KEY));
    const failed = await machines.create(leaseOf(KEY));
    await machines.create(leaseOf(OTHER_KEY));
    await lifecycle.markTerminated(third.machine_id, now);
    await lifecycle.markFailed(failed.machine_id, 'no capacity', now);

    const found = await liveLeasesOfKey(table.db, table.tableName)(`${KEY} someone@else`);
    expect(found.sort((a, b) => a.machine_id.localeCompare(b.machine_id))).toEqual(
      [
        { machine_id: first.machine_id, product_id: 'bare-linux-machine' },
        { machine_id: second.machine_id, product_id: 'gpu-h100-machine' },
      ].sort((a, b) => a.machine_id.localeCompare(b.machine_id)),
    );
  });

  it("reads only that key's partition: one Query of the by-key index, no filter", async () => {
    const sent: unknown[] = [];
    const watched = {
      send: (command: QueryCommand) => {
        sent.push(command.input);
        return table.db.send(command);
      },
    } as unknown as typeof table.db;
    await liveLeasesOfKey(watched, table.tableName)(OTHER_KEY);
    expect(sent).toEqual([
      expect.objectContaining({
        IndexName: TABLE_DESIGN.leasesByKeyIndex.name,
        KeyConditionExpression: 'key_live_pk = :key',
      }),
    ]);
    expect(sent[0]).not.toHaveProperty('FilterExpression');
  });

  it('writes the index key with the lease and removes it with live_pk when the lease ends', async () => {
    const lease = await machines.create(leaseOf(`${KEY} a`));
    const item = async () =>
      (
        await table.db.send(
          new GetCommand({ TableName: table.tableName, Key: itemKeys.machine(lease.machine_id) }),
        )
      ).Item;
    expect(await item()).toMatchObject(liveKeyLeaseKey(sshKeyFingerprint(KEY), lease.machine_id));
    await lifecycle.markTerminated(lease.machine_id, now);
    expect(Object.keys((await item()) ?? {})).not.toEqual(expect.arrayContaining(['key_live_pk']));
    expect(await machines.get(lease.machine_id, now)).not.toHaveProperty('key_live_pk');
  });

  it('falls back to the LIVE partition on a local table kept from before the index existed', async () => {
    const oldName = `${table.tableName}-old`;
    const input = createTableInput(oldName);
    const client = new DynamoDBClient(table.dynamo.clientConfig);
    await client.send(
      new CreateTableCommand({
        ...input,
        GlobalSecondaryIndexes: input.GlobalSecondaryIndexes.filter(
          (index) => index.IndexName !== TABLE_DESIGN.leasesByKeyIndex.name,
        ),
      }),
    );
    client.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const old = new DynamoMachineStore(table.db, oldName);
    const lease = await old.create(leaseOf(`${KEY} x`));
    await old.create(leaseOf(OTHER_KEY));
    const count = liveLeasesOfKey(table.db, oldName);
    expect(await count(KEY)).toEqual([
      { machine_id: lease.machine_id, product_id: 'bare-linux-machine' },
    ]);
    // Remembered: the next count goes to the LIVE partition at once.
    expect(await count(KEY)).toHaveLength(1);
  });
});

describe('the count while DynamoDB still builds the index (the deploy that adds it)', () => {
  it('counts from the LIVE partition while the index is backfilling, and asks the index again a minute later', async () => {
    const lease = leaseOf(KEY);
    const asked: string[] = [];
    let backfilling = true;
    const db = {
      send: async (command: QueryCommand) => {
        const index = String(command.input.IndexName);
        asked.push(index);
        if (index === TABLE_DESIGN.leasesByKeyIndex.name) {
          if (backfilling)
            throw Object.assign(
              new Error(`Cannot read from backfilling global secondary index: ${index}`),
              { name: 'ValidationException' },
            );
          return { Items: [{ machine_id: lease.machine_id, product_id: lease.product_id }] };
        }
        // The LIVE partition: this key's lease and another key's.
        return { Items: [lease, leaseOf(OTHER_KEY)] };
      },
    };
    let clock = now.getTime();
    const count = liveLeasesOfKey(db as never, 'table', () => clock);
    const expected = [{ machine_id: lease.machine_id, product_id: lease.product_id }];

    expect(await count(KEY)).toEqual(expected);
    expect(asked).toEqual([TABLE_DESIGN.leasesByKeyIndex.name, TABLE_DESIGN.liveLeasesIndex.name]);
    // Within the minute the index is not asked again.
    asked.length = 0;
    expect(await count(KEY)).toEqual(expected);
    expect(asked).toEqual([TABLE_DESIGN.liveLeasesIndex.name]);
    // Once it is built, the key's own partition again.
    backfilling = false;
    clock += 60_000;
    asked.length = 0;
    expect(await count(KEY)).toEqual(expected);
    expect(asked).toEqual([TABLE_DESIGN.leasesByKeyIndex.name]);
  });

  it('lets any other refusal of the index through', async () => {
    const db = {
      send: async () => {
        throw Object.assign(new Error('User is not authorized to perform: dynamodb:Query'), {
          name: 'AccessDeniedException',
        });
      },
    };
    await expect(liveLeasesOfKey(db as never, 'table')(KEY)).rejects.toThrow(/not authorized/);
  });
});
