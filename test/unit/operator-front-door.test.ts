import type { BlockRecord } from '../../lambdas/core/blocks.js';
import { DEFAULT_CATALOG } from '../../lambdas/core/catalog.js';
import type { BlockStore } from '../../lambdas/core/ports.js';
import type { BlockedRangesReport } from '../../lambdas/core/use-cases/sync-blocked-ranges.js';
import {
  type OperatorContext,
  runOperatorCommand,
} from '../../lambdas/operator/operator-commands.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';

function memoryBlocks(): BlockStore & { held: BlockRecord[] } {
  const held: BlockRecord[] = [];
  return {
    held,
    candidatesFor: async () => [...held],
    put: async (block) => {
      held.push(block);
    },
    remove: async (kind, value) => {
      const index = held.findIndex((block) => block.kind === kind && block.value === value);
      if (index >= 0) held.splice(index, 1);
      return index >= 0;
    },
    list: async () => [...held],
  };
}

const unused = new Proxy({} as never, {
  get: () => {
    throw new Error('not used by block commands');
  },
});

function contextWith(syncFrontDoor?: () => Promise<BlockedRangesReport>) {
  const blocks = memoryBlocks();
  const context: OperatorContext = {
    blocks,
    machines: unused,
    orders: unused,
    leases: unused,
    catalog: DEFAULT_CATALOG,
    publicUrl: 'https://shop.example',
    operator: 'ops',
    clock: { now: () => new Date('2026-12-07T12:00:00Z') },
    log: memoryLogger(),
    findingPolicy: { typePrefixes: ['CryptoCurrency:EC2/'], minSeverity: 4 },
    ...(syncFrontDoor ? { syncFrontDoor } : {}),
  };
  return { context, blocks };
}

const REPORT: BlockedRangesReport = { ipv4: 1, ipv6: 0, updated: ['ipv4'], left_out: [] };

describe('npm run operator: client ranges and the front door', () => {
  it('syncs the WAF IP sets right after a client-range block and unblock, once the table is written', async () => {
    const seen: number[] = [];
    const { context, blocks } = contextWith(async () => {
      seen.push(blocks.held.length);
      return REPORT;
    });
    const [blocked] = await runOperatorCommand(context, [
      'block',
      'client-range',
      '198.51.100.0/24',
      '--reason',
      'port scans',
    ]);
    expect(JSON.parse(blocked ?? '')).toMatchObject({
      blocked: { kind: 'client_range', value: '198.51.100.0/24' },
      front_door: { synced: true, ...REPORT },
    });
    const [unblocked] = await runOperatorCommand(context, [
      'unblock',
      'client-range',
      '198.51.100.0/24',
    ]);
    expect(JSON.parse(unblocked ?? '').front_door).toMatchObject({ synced: true });
    // The sync read the table after each write: one block, then none.
    expect(seen).toEqual([1, 0]);
  });

  it('keeps the block when the sync fails, and says the scheduled sync retries', async () => {
    const { context, blocks } = contextWith(async () => {
      throw new Error('AccessDeniedException: wafv2:UpdateIPSet');
    });
    const [line] = await runOperatorCommand(context, [
      'block',
      'client-range',
      '203.0.113.0/24',
      '--reason',
      'floods',
    ]);
    expect(JSON.parse(line ?? '').front_door).toMatchObject({
      synced: false,
      error: 'AccessDeniedException: wafv2:UpdateIPSet',
      note: expect.stringContaining('retries every minute'),
    });
    expect(blocks.held).toHaveLength(1);
  });

  it('does not touch the front door for SSH key blocks, and says so where there is none', async () => {
    let syncs = 0;
    const { context } = contextWith(async () => {
      syncs++;
      return REPORT;
    });
    const [key] = await runOperatorCommand(context, [
      'block',
      'ssh-key',
      `SHA256:${'A'.repeat(43)}`,
      '--reason',
      'mining',
    ]);
    expect(JSON.parse(key ?? '')).not.toHaveProperty('front_door');
    expect(syncs).toBe(0);
    const [local] = await runOperatorCommand(contextWith().context, [
      'block',
      'client-range',
      '198.51.100.0/24',
      '--reason',
      'x',
    ]);
    expect(JSON.parse(local ?? '').front_door).toMatchObject({ synced: false });
  });
});
