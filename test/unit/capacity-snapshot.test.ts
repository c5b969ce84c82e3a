import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  CAPACITY_SNAPSHOT_MAX_AGE_MS,
  capacitySnapshots,
  writeCapacitySnapshot,
} from '../../lambdas/adapters/dynamodb/capacity-snapshot.js';
import { itemKeys } from '../../lambdas/adapters/dynamodb/table-design.js';
import { DEFAULT_CATALOG } from '../../lambdas/core/catalog.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';
import { type LocalTable, localTable } from '../support/local-table.js';

const gpu = DEFAULT_CATALOG['gpu-h100-machine'];
const bare = DEFAULT_CATALOG['bare-linux-machine'];
const CHECKED_AT = new Date('2026-11-29T10:00:00.000Z');

describe('capacity snapshots read before payment (dynalite)', () => {
  let table: LocalTable;
  let now: Date;
  let log: ReturnType<typeof memoryLogger>;
  const snapshots = () =>
    capacitySnapshots({ db: table.db, tableName: table.tableName, clock: { now: () => now }, log });

  beforeAll(async () => {
    table = await localTable();
    await writeCapacitySnapshot(table.db, table.tableName, {
      product_id: gpu.id,
      instance_type: gpu.instance.instanceType,
      lease_minutes: gpu.minMinutes,
      available: false,
      reason: 'no quota',
      retryAfterSeconds: 3600,
      checked_at: CHECKED_AT.toISOString(),
    });
  });
  afterAll(() => table.close());
  beforeEach(() => {
    now = new Date(CHECKED_AT.getTime() + 30_000);
    log = memoryLogger();
  });

  it('stores one item per product under its CAPACITY# key, with when it was checked', async () => {
    const { Item } = await table.db.send(
      new GetCommand({ TableName: table.tableName, Key: itemKeys.capacity(gpu.id) }),
    );
    expect(Item).toMatchObject({
      pk: 'CAPACITY#gpu-h100-machine',
      available: false,
      checked_at: CHECKED_AT.toISOString(),
    });
  });

  it('answers what a fresh snapshot says', async () => {
    expect(await snapshots().check(gpu, 60)).toEqual({
      available: false,
      reason: 'no quota',
      retryAfterSeconds: 3600,
    });
    await writeCapacitySnapshot(table.db, table.tableName, {
      product_id: bare.id,
      instance_type: bare.instance.instanceType,
      lease_minutes: bare.minMinutes,
      available: true,
      checked: ['zone-offerings', 'vcpu-quota'],
      checked_at: CHECKED_AT.toISOString(),
    });
    expect(await snapshots().check(bare, 15)).toEqual({
      available: true,
      checked: ['zone-offerings', 'vcpu-quota'],
    });
    expect(log.entries).toEqual([]);
  });

  it('treats a stale snapshot as not checked (the sale goes on), and says so', async () => {
    now = new Date(CHECKED_AT.getTime() + CAPACITY_SNAPSHOT_MAX_AGE_MS + 1);
    expect(await snapshots().check(gpu, 60)).toEqual({ available: true, checked: [] });
    expect(log.entries).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'capacity.snapshot_stale',
        fields: expect.objectContaining({ product: gpu.id }),
      }),
    ]);
  });

  it('treats a missing snapshot as not checked, and says so', async () => {
    const other = await localTable();
    try {
      const check = capacitySnapshots({
        db: other.db,
        tableName: other.tableName,
        clock: { now: () => now },
        log,
      });
      expect(await check.check(gpu, 60)).toEqual({ available: true, checked: [] });
      expect(log.entries.map((entry) => entry.event)).toEqual(['capacity.snapshot_missing']);
    } finally {
      await other.close();
    }
  });

  it('does not apply a snapshot of another instance type (the catalog changed)', async () => {
    const resized = { ...gpu, instance: { ...gpu.instance, instanceType: 'p5.48xlarge' } };
    expect(await snapshots().check(resized, 60)).toEqual({ available: true, checked: [] });
    expect(log.entries.map((entry) => entry.event)).toEqual([
      'capacity.snapshot_other_instance_type',
    ]);
  });
});
