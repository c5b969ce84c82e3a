import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { LeaseLifecycleStore } from '../../lambdas/adapters/dynamodb/lease-lifecycle-store.js';
import { DynamoMachineStore } from '../../lambdas/adapters/dynamodb/machine-store.js';
import {
  itemKeys,
  LIVE_PARTITION,
  TABLE_DESIGN,
} from '../../lambdas/adapters/dynamodb/table-design.js';
import { newMachineId } from '../../lambdas/core/ids.js';
import { type MachineRecord, toMachineView } from '../../lambdas/core/machine.js';
import { machineFixture } from '../support/fixtures.js';
import {
  intercepted,
  type LocalTable,
  localTable,
  noticingConsistentReads,
} from '../support/local-table.js';

const now = new Date('2026-11-29T10:00:00.000Z');

const newMachine = () => machineFixture({ machineId: newMachineId(), now });

describe('machine store and lease transitions on DynamoDB (dynalite)', () => {
  let table: LocalTable;
  let machines: DynamoMachineStore;
  let lifecycle: LeaseLifecycleStore;
  beforeAll(async () => {
    table = await localTable();
    machines = new DynamoMachineStore(table.db, table.tableName);
    lifecycle = new LeaseLifecycleStore(table.db, table.tableName, 30);
  });
  afterAll(() => table.close());

  const liveIds = async () => {
    const { Items = [] } = await table.db.send(
      new QueryCommand({
        TableName: table.tableName,
        IndexName: TABLE_DESIGN.liveLeasesIndex.name,
        KeyConditionExpression: 'live_pk = :live',
        ExpressionAttributeValues: { ':live': LIVE_PARTITION },
      }),
    );
    return Items.map((item) => item.machine_id as string);
  };

  it('creates a machine once; a second create returns the first', async () => {
    const machine = newMachine();
    expect(await machines.create(machine)).toEqual(machine);
    const duplicate = await machines.create({ ...machine, token_nonce: 'other' });
    expect(duplicate.token_nonce).toBe(machine.token_nonce);
    expect(await liveIds()).toContain(machine.machine_id);
  });

  it('reads a machine with strong consistency, alone and from the sweep list', async () => {
    // GetItem is eventually consistent unless asked otherwise (DynamoDB API reference): a read
    // right after an extension or a termination must not see the lease as it was. dynalite's
    // reads are always consistent, so what is asked for is checked instead.
    const reads = noticingConsistentReads(table.db);
    const watched = new DynamoMachineStore(reads.db, table.tableName);
    const machine = await machines.create(newMachine());
    await machines.scheduleSweep(machine.machine_id, now.toISOString());
    expect(await watched.get(machine.machine_id, now)).toBeDefined();
    expect(reads.asked).toEqual([true]);
    reads.asked.length = 0;
    const due = await watched.dueForSweep(new Date(now.getTime() + 1), 100);
    expect(due.map((m) => m.machine_id)).toContain(machine.machine_id);
    expect(reads.asked.length).toBeGreaterThan(0);
    expect(new Set(reads.asked)).toEqual(new Set([true]));
  });

  it('applies only one of two concurrent extensions planned from the same lease length', async () => {
    const machine = await machines.create(newMachine());
    const plan = (minutes: number) => ({
      leaseMinutesBefore: 60,
      leaseMinutes: 60 + minutes,
      expiresAt: new Date(Date.parse(machine.expires_at) + minutes * 60_000).toISOString(),
    });
    const results = await Promise.all(
      [10, 20].map((minutes) =>
        machines.applyExtension(
          machine.machine_id,
          plan(minutes),
          extensionRecord(machine.machine_id, `req-${minutes}`, minutes),
        ),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const stored = await machines.get(machine.machine_id, now);
    expect([70, 80]).toContain(stored?.lease_minutes);
    // The lease and the record of the extension that made it changed in the same write.
    expect(Object.values(stored?.extensions ?? {})).toEqual([
      expect.objectContaining({ lease_minutes_after: stored?.lease_minutes }),
    ]);
  });

  it('does not let activation undo a termination requested during provisioning', async () => {
    const machine = await machines.create(newMachine());
    expect((await machines.requestTermination(machine.machine_id, now))?.status).toBe(
      'terminating',
    );
    const activated = await lifecycle.activate(machine.machine_id, {
      host: '203.0.113.9',
      sshPort: 22,
      activatedAt: now.toISOString(),
      expiresAt: '2026-11-29T11:00:00.000Z',
      leaseMinutes: machine.lease_minutes,
    });
    expect(activated).toBeUndefined();
    expect((await machines.get(machine.machine_id, now))?.status).toBe('terminating');
  });

  it('refuses to terminate or extend what has already ended', async () => {
    const machine = await machines.create(newMachine());
    expect((await lifecycle.markTerminated(machine.machine_id, now))?.status).toBe('terminated');
    expect(await machines.requestTermination(machine.machine_id, now)).toBeUndefined();
    expect(
      await machines.applyExtension(
        machine.machine_id,
        { leaseMinutesBefore: 60, leaseMinutes: 70, expiresAt: machine.expires_at },
        extensionRecord(machine.machine_id, 'late', 10),
      ),
    ).toBeUndefined();
    expect(await machines.listExtensions(machine.machine_id)).toEqual([]);
    expect(await lifecycle.markFailed(machine.machine_id, 'late', now)).toBeUndefined();
  });

  it('keeps an ended lease readable for the retention period, then treats it as gone', async () => {
    const machine = await machines.create(newMachine());
    await lifecycle.markTerminated(machine.machine_id, now);
    expect(await liveIds()).not.toContain(machine.machine_id);
    const { Item } = await table.db.send(
      new GetCommand({ TableName: table.tableName, Key: itemKeys.machine(machine.machine_id) }),
    );
    expect(Item?.expires_at_epoch).toBe(Math.floor(now.getTime() / 1000) + 30 * 86_400);
    expect(
      (await machines.get(machine.machine_id, new Date(now.getTime() + 29 * 86_400_000)))?.status,
    ).toBe('terminated');
    expect(
      await machines.get(machine.machine_id, new Date(now.getTime() + 31 * 86_400_000)),
    ).toBeUndefined();
  });

  it('records a failure with its reason, only while provisioning', async () => {
    const machine = await machines.create(newMachine());
    const failed = await lifecycle.markFailed(machine.machine_id, 'no H100 capacity', now);
    expect(failed).toMatchObject({ status: 'failed', failure_reason: 'no H100 capacity' });
    expect(await liveIds()).not.toContain(machine.machine_id);
  });

  it('keeps the live-lease index in step with the lease end', async () => {
    const machine = await machines.create(newMachine());
    const active = await lifecycle.activate(machine.machine_id, {
      host: '203.0.113.10',
      sshPort: 22,
      activatedAt: now.toISOString(),
      expiresAt: '2026-11-29T11:05:00.000Z',
      leaseMinutes: machine.lease_minutes,
    });
    expect(active?.status).toBe('active');
    const { Item } = await table.db.send(
      new GetCommand({ TableName: table.tableName, Key: itemKeys.machine(machine.machine_id) }),
    );
    expect(Item?.live_sk).toBe(`2026-11-29T11:05:00.000Z#${machine.machine_id}`);
  });

  it('keeps a wake token only while the lease is active', async () => {
    const machine = await machines.create(newMachine());
    expect(await lifecycle.holdWakeToken(machine.machine_id, 'token-1')).toBeUndefined();
    await lifecycle.activate(machine.machine_id, {
      host: '203.0.113.11',
      sshPort: 22,
      activatedAt: now.toISOString(),
      expiresAt: '2026-11-29T11:00:00.000Z',
      leaseMinutes: machine.lease_minutes,
    });
    expect(await lifecycle.holdWakeToken(machine.machine_id, 'token-1')).toBeDefined();
    const read = await machines.get(machine.machine_id, now);
    expect(read?.wake_token).toBe('token-1');
    expect(JSON.stringify(toMachineView(read as MachineRecord, now))).not.toContain('token-1');
  });

  it('gives the extension lock to one holder at a time and records extensions once', async () => {
    const machine = await machines.create(newMachine());
    const until = new Date(now.getTime() + 60_000);
    const locks = await Promise.all(
      [1, 2, 3].map((i) => machines.lockForExtension(machine.machine_id, `o${i}`, until, now)),
    );
    expect(locks.filter(Boolean)).toHaveLength(1);
    const extension = extensionRecord(machine.machine_id, 'req-1', 10);
    expect(await machines.recordUnappliedExtension(extension, now.toISOString())).toBe(true);
    expect(
      await machines.recordUnappliedExtension(
        { ...extension, additional_minutes: 99 },
        now.toISOString(),
      ),
    ).toBe(false);
    expect(await machines.getExtension(machine.machine_id, 'req-1')).toEqual(extension);
  });

  it('records an attempt with the lock, keeps a first record, and forgets it only for its holder', async () => {
    const machine = await machines.create(newMachine());
    const until = new Date(now.getTime() + 60_000);
    const attempt = {
      key: 'a1',
      challenge_id: 'c1',
      method: 'test',
      external_id: `${machine.machine_id}+60`,
      amount_cents: 50,
      started_at: now.toISOString(),
      owner: 'first',
      extension: { extension_key: 'req-9', additional_minutes: 10, lease_minutes_before: 60 },
    };
    const locked = await machines.lockForExtension(
      machine.machine_id,
      'first',
      until,
      now,
      attempt,
    );
    expect(locked?.extension_attempts?.a1).toEqual(attempt);
    const later = new Date(until.getTime() + 1);
    const relocked = await machines.lockForExtension(
      machine.machine_id,
      'second',
      new Date(later.getTime() + 60_000),
      later,
      { ...attempt, owner: 'second' },
    );
    // The first record stands: the second holder sees an earlier, unfinished attempt.
    expect(relocked?.extension_attempts?.a1?.owner).toBe('first');
    await machines.forgetExtensionAttempt(machine.machine_id, 'first', 'a1');
    expect((await machines.get(machine.machine_id, now))?.extension_attempts?.a1).toBeDefined();
    await machines.forgetExtensionAttempt(machine.machine_id, 'second', 'a1');
    expect((await machines.get(machine.machine_id, now))?.extension_attempts).toBeUndefined();
  });

  it('labels its item as a machine in the shared table, and keeps the label out of the record', async () => {
    const machine = await machines.create(newMachine());
    const { Item } = await table.db.send(
      new GetCommand({ TableName: table.tableName, Key: itemKeys.machine(machine.machine_id) }),
    );
    // Orders, machines, blocks, replay markers and snapshots share one table: read raw (the
    // console, an export) an item says what it is by its kind.
    expect(Item?.kind).toBe('machine');
    expect(await machines.get(machine.machine_id, now)).not.toHaveProperty('kind');
  });

  it('reads a machine back as it was created, without the empty maps its item carries', async () => {
    const machine = newMachine();
    expect(machine.extensions).toBeUndefined();
    await machines.create(machine);
    const { Item } = await table.db.send(
      new GetCommand({ TableName: table.tableName, Key: itemKeys.machine(machine.machine_id) }),
    );
    expect(Item?.extensions).toEqual({});
    expect(await machines.get(machine.machine_id, now)).toEqual(machine);
  });

  it('creates a new machine with one write and no read', async () => {
    // Every fulfilled order creates a machine; reading it back is only for the retried create
    // that finds it already there, so a first create costs one round trip.
    const sent: string[] = [];
    const counted = new DynamoMachineStore(
      intercepted(table.db, (command, send) => {
        sent.push(command instanceof PutCommand ? 'put' : (command as object).constructor.name);
        return send();
      }),
      table.tableName,
    );
    const machine = newMachine();
    expect(await counted.create(machine)).toEqual(machine);
    expect(sent).toEqual(['put']);
  });

  it('fails a create whose machine vanished between its failed put and the read, rather than return nothing', async () => {
    const machine = await machines.create(newMachine());
    const key = itemKeys.machine(machine.machine_id);
    // The retried create's put finds the machine; the item is gone (TTL) when it is read.
    const vanishing = new DynamoMachineStore(
      intercepted(table.db, async (command, send) => {
        try {
          return await send();
        } catch (error) {
          if (command instanceof PutCommand)
            await table.db.send(new DeleteCommand({ TableName: table.tableName, Key: key }));
          throw error;
        }
      }),
      table.tableName,
    );
    await expect(vanishing.create(machine)).rejects.toThrow(
      `machine ${machine.machine_id} neither created nor found`,
    );
  });
});

function extensionRecord(machineId: string, key: string, minutes: number) {
  return {
    machine_id: machineId,
    extension_key: key,
    additional_minutes: minutes,
    lease_minutes_after: 60 + minutes,
    applied_at: '2026-11-29T10:00:00.000Z',
  };
}
