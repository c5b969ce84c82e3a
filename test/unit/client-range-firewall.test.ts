import type { BlockRecord } from '../../lambdas/core/blocks.js';
import {
  type ClientRangeFirewall,
  firewallCidr,
  firewallRangesOf,
  type IpFamily,
  sameRanges,
  WAF_IP_SET_CAPACITY,
} from '../../lambdas/core/client-range-firewall.js';
import { syncBlockedRanges } from '../../lambdas/core/use-cases/sync-blocked-ranges.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';

const NOW = new Date('2026-12-07T12:00:00Z');
const range = (value: string, extra: Partial<BlockRecord> = {}): BlockRecord => ({
  kind: 'client_range',
  value,
  reason: 'port scans',
  blocked_by: 'ops',
  blocked_at: '2026-12-01T00:00:00Z',
  ...extra,
});

describe('client ranges as the WAF IP sets hold them', () => {
  it.each([
    ['198.51.100.7/24', 'ipv4', '198.51.100.0/24'],
    ['203.0.113.9', 'ipv4', '203.0.113.9/32'],
    ['10.255.255.255/8', 'ipv4', '10.0.0.0/8'],
    ['2001:db8::1/32', 'ipv6', '2001:db8:0:0:0:0:0:0/32'],
    ['2001:DB8:abcd:12:ffff::/50', 'ipv6', '2001:db8:abcd:0:0:0:0:0/50'],
    ['2001:db8::7', 'ipv6', '2001:db8:0:0:0:0:0:7/128'],
    ['::ffff:192.0.2.1', 'ipv4', '192.0.2.1/32'],
    ['64:ff9b::192.0.2.1/120', 'ipv6', '64:ff9b:0:0:0:0:c000:200/120'],
  ])('writes %s as one %s network: %s', (value, family, cidr) => {
    expect(firewallCidr(value)).toEqual({ ok: true, family, cidr });
  });

  it('refuses what WAF cannot hold: /0 and non-addresses', () => {
    expect(firewallCidr('0.0.0.0/0')).toEqual({ ok: false, why: 'AWS WAF takes no /0 range' });
    expect(firewallCidr('::/0')).toMatchObject({ ok: false });
    expect(firewallCidr('example.com')).toMatchObject({ ok: false });
  });

  it('keeps the client-range blocks in force only, each once, by family', () => {
    const blocks: BlockRecord[] = [
      range('198.51.100.0/24'),
      range('198.51.100.9/24'), // the same network, spelled otherwise
      range('2001:db8::/32'),
      range('192.0.2.0/24', { expires_at: '2026-12-07T11:59:59Z' }), // lapsed a second ago
      range('203.0.113.0/24', { expires_at: '2026-12-08T00:00:00Z' }),
      range('0.0.0.0/0'),
      { ...range('SHA256:x'), kind: 'ssh_key' },
      { ...range('payer-1'), kind: 'payer' },
    ];
    expect(firewallRangesOf(blocks, NOW)).toEqual({
      ipv4: ['198.51.100.0/24', '203.0.113.0/24'],
      ipv6: ['2001:db8:0:0:0:0:0:0/32'],
      left_out: [{ value: '0.0.0.0/0', why: 'AWS WAF takes no /0 range' }],
    });
  });

  it('keeps the newest blocks when a family holds more than an IP set can', () => {
    const blocks = Array.from({ length: WAF_IP_SET_CAPACITY + 2 }, (_, index) =>
      range(`10.${Math.floor(index / 256) % 256}.${index % 256}.0/24`, {
        blocked_at: new Date(NOW.getTime() - index * 1000).toISOString(),
      }),
    );
    const ranges = firewallRangesOf(blocks, NOW);
    expect(ranges.ipv4).toHaveLength(WAF_IP_SET_CAPACITY);
    expect(ranges.left_out.map((left) => left.value)).toEqual([
      blocks[WAF_IP_SET_CAPACITY]?.value,
      blocks[WAF_IP_SET_CAPACITY + 1]?.value,
    ]);
    expect(ranges.ipv4).toContain('10.0.0.0/24');
  });

  it('compares lists as sets of networks, whatever their order and spelling', () => {
    expect(sameRanges(['2001:db8::/32', '10.0.0.0/8'], ['10.0.0.0/8', '2001:DB8:0:0::/32'])).toBe(
      true,
    );
    expect(sameRanges(['10.0.0.0/8'], ['10.0.0.0/16'])).toBe(false);
    expect(sameRanges([], ['10.0.0.0/8'])).toBe(false);
  });
});

describe('syncBlockedRanges', () => {
  const firewall = (held: Record<IpFamily, string[]>) => {
    const calls: [IpFamily, readonly string[]][] = [];
    const port: ClientRangeFirewall = {
      replace: async (family, ranges) => {
        calls.push([family, ranges]);
        if (sameRanges(held[family], ranges)) return 'unchanged';
        held[family] = [...ranges];
        return 'updated';
      },
    };
    return { port, calls, held };
  };

  it('replaces each set with the ranges in force, and reports which changed', async () => {
    const sets = firewall({ ipv4: ['192.0.2.0/24'], ipv6: [] });
    const report = await syncBlockedRanges({
      blocks: { list: async () => [range('198.51.100.0/24')] },
      firewall: sets.port,
      clock: { now: () => NOW },
      log: memoryLogger(),
    });
    expect(sets.calls).toEqual([
      ['ipv4', ['198.51.100.0/24']],
      ['ipv6', []],
    ]);
    expect(report).toEqual({ ipv4: 1, ipv6: 0, updated: ['ipv4'], left_out: [] });
  });

  it('empties a set once its last block has expired, before the TTL deletes the item', async () => {
    const sets = firewall({ ipv4: ['198.51.100.0/24'], ipv6: [] });
    const blocks = [range('198.51.100.0/24', { expires_at: '2026-12-07T12:00:00Z' })];
    const report = await syncBlockedRanges({
      blocks: { list: async () => blocks },
      firewall: sets.port,
      clock: { now: () => NOW },
      log: memoryLogger(),
    });
    expect(sets.held.ipv4).toEqual([]);
    expect(report.updated).toEqual(['ipv4']);
  });

  it('logs an error for a block the WAF cannot hold', async () => {
    const log = memoryLogger();
    await syncBlockedRanges({
      blocks: { list: async () => [range('::/0')] },
      firewall: firewall({ ipv4: [], ipv6: [] }).port,
      clock: { now: () => NOW },
      log,
    });
    expect(log.entries).toContainEqual(
      expect.objectContaining({ level: 'error', event: 'blocked_ranges.left_out' }),
    );
  });
});
