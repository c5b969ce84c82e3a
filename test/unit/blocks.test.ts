import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BlockRecord,
  blockFor,
  blockValue,
  parseCidr,
  sshKeyFingerprint,
} from '../../lambdas/core/blocks.js';
import { ecdsaKey, ed25519Key, rsaKey } from '../support/ssh-keys.js';

const now = new Date('2026-01-01T00:00:00Z');
const block = (overrides: Partial<BlockRecord>): BlockRecord => ({
  kind: 'ssh_key',
  value: 'SHA256:x',
  reason: 'mining',
  blocked_by: 'operator',
  blocked_at: now.toISOString(),
  ...overrides,
});

describe('blocks', () => {
  it('fingerprints a key exactly as ssh-keygen -l prints it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fingerprint-'));
    try {
      for (const key of [ed25519Key(), ecdsaKey('nistp256'), rsaKey(2048)]) {
        const file = join(dir, 'key.pub');
        writeFileSync(file, `${key}\n`);
        const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], {
          encoding: 'utf8',
        }).split(' ')[1];
        expect(sshKeyFingerprint(key)).toBe(printed);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes a fingerprint or a key line for an SSH key block, a CIDR range for a client block', () => {
    const key = ed25519Key();
    expect(blockValue('ssh_key', key)).toEqual({ ok: true, value: sshKeyFingerprint(key) });
    expect(blockValue('ssh_key', sshKeyFingerprint(key))).toEqual({
      ok: true,
      value: sshKeyFingerprint(key),
    });
    expect(blockValue('ssh_key', 'nonsense').ok).toBe(false);
    expect(blockValue('client_range', '198.51.100.7')).toEqual({
      ok: true,
      value: '198.51.100.7/32',
    });
    expect(blockValue('client_range', '2001:DB8::/32')).toEqual({
      ok: true,
      value: '2001:db8::/32',
    });
    expect(blockValue('client_range', '198.51.100.0/33').ok).toBe(false);
    // Wider than a /8 or an IPv6 /32 would refuse whole networks (EC2's ready calls with them).
    expect(blockValue('client_range', '10.0.0.0/8')).toEqual({ ok: true, value: '10.0.0.0/8' });
    expect(blockValue('client_range', '0.0.0.0/1')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/wider than a \/8/),
    });
    expect(blockValue('client_range', '128.0.0.0/7').ok).toBe(false);
    expect(blockValue('client_range', '2001:db8::/31').ok).toBe(false);
    expect(blockValue('client_range', '::/0').ok).toBe(false);
    expect(blockValue('client_range', 'example.com').ok).toBe(false);
    expect(parseCidr('::ffff:192.0.2.1')).toMatchObject({ ok: true, cidr: '192.0.2.1/32' });
  });

  it('matches keys and client ranges (IPv4, IPv6, mapped IPv4), ignoring expired blocks', () => {
    const subject = { sshKeyFingerprint: 'SHA256:k', clientAddress: '::ffff:203.0.113.9' };
    expect(blockFor([block({ value: 'SHA256:k' })], subject, now)?.value).toBe('SHA256:k');
    expect(blockFor([block({ value: 'SHA256:other' })], subject, now)).toBeUndefined();
    const range = block({ kind: 'client_range', value: '203.0.113.0/24' });
    expect(blockFor([range], subject, now)).toBe(range);
    expect(blockFor([range], { ...subject, clientAddress: '203.0.114.1' }, now)).toBeUndefined();
    const v6 = block({ kind: 'client_range', value: '2001:db8::/32' });
    expect(blockFor([v6], { ...subject, clientAddress: '2001:db8:1::5' }, now)).toBe(v6);
    expect(blockFor([v6], subject, now)).toBeUndefined();
    const expired = block({ value: 'SHA256:k', expires_at: '2025-12-31T23:59:59Z' });
    expect(blockFor([expired], subject, now)).toBeUndefined();
    const later = block({ value: 'SHA256:k', expires_at: '2026-01-02T00:00:00Z' });
    expect(blockFor([later], subject, now)).toBe(later);
    // A payer block matches nothing: no accepted method names a payer before it charges.
    expect(blockFor([block({ kind: 'payer', value: 'SHA256:k' })], subject, now)).toBeUndefined();
  });
});
