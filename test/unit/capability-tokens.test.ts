import { randomBytes } from 'node:crypto';
import {
  CAPABILITIES,
  issueTokens,
  looksLikeCapabilityToken,
  revealTokens,
  tokenAuthorises,
} from '../../lambdas/core/capability-tokens.js';
import {
  MACHINE_ID_PATTERN,
  newMachineId,
  ORDER_ID_PATTERN,
  orderIdFor,
} from '../../lambdas/core/ids.js';
import { deriveKeys } from '../../lambdas/core/keys.js';

const key = randomBytes(32);
const machineId = 'machine_0123456789abcdef';

describe('capability tokens', () => {
  const record = issueTokens(key, machineId);
  const tokens = revealTokens(key, machineId, record);

  it('stores only hashes, never the tokens themselves', () => {
    const stored = JSON.stringify(record);
    expect(tokens).toBeDefined();
    for (const token of Object.values(tokens ?? {})) expect(stored).not.toContain(token);
  });

  it('has the documented prefixes and 256 bits of key material', () => {
    expect(tokens?.read_token).toMatch(/^mt_read_[A-Za-z0-9_-]{43}$/);
    expect(tokens?.extend_token).toMatch(/^mt_extend_[A-Za-z0-9_-]{43}$/);
    expect(tokens?.terminate_token).toMatch(/^mt_term_[A-Za-z0-9_-]{43}$/);
    for (const token of Object.values(tokens ?? {}))
      expect(looksLikeCapabilityToken(token)).toBe(true);
  });

  it('re-derives the same tokens for a retried order', () => {
    expect(revealTokens(key, machineId, record)).toEqual(tokens);
  });

  it('gives every machine its own tokens', () => {
    const other = revealTokens(key, machineId, issueTokens(key, machineId));
    expect(other?.read_token).not.toBe(tokens?.read_token);
  });

  it('lets each token authorise only its own operation', () => {
    const byCapability = {
      read: tokens?.read_token ?? '',
      extend: tokens?.extend_token ?? '',
      terminate: tokens?.terminate_token ?? '',
    };
    for (const capability of CAPABILITIES) {
      for (const [owner, token] of Object.entries(byCapability)) {
        expect(tokenAuthorises(token, capability, record)).toBe(owner === capability);
      }
    }
  });

  it('refuses tokens of another machine and anything for a missing machine', () => {
    const other = issueTokens(key, 'machine_fedcba9876543210');
    expect(tokenAuthorises(tokens?.read_token ?? '', 'read', other)).toBe(false);
    expect(tokenAuthorises(tokens?.read_token ?? '', 'read', undefined)).toBe(false);
  });

  it('cannot be re-derived with another key', () => {
    expect(revealTokens(randomBytes(32), machineId, record)).toBeUndefined();
  });
});

describe('ids', () => {
  it('makes machine ids that match the contract pattern, all different', () => {
    const ids = new Set(Array.from({ length: 1000 }, newMachineId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(MACHINE_ID_PATTERN);
  });

  it('derives one order id per request_id, keyed by the server secret', () => {
    const keys = deriveKeys('a'.repeat(32));
    const id = orderIdFor('3f0c1a52-8d4e-4b1a-9c57-2b8e6f1d0a93', keys.orderIdKey);
    expect(id).toMatch(ORDER_ID_PATTERN);
    expect(orderIdFor('3F0C1A52-8D4E-4B1A-9C57-2B8E6F1D0A93', keys.orderIdKey)).toBe(id);
    expect(orderIdFor('3f0c1a52-8d4e-4b1a-9c57-2b8e6f1d0a94', keys.orderIdKey)).not.toBe(id);
    expect(
      orderIdFor('3f0c1a52-8d4e-4b1a-9c57-2b8e6f1d0a93', deriveKeys('b'.repeat(32)).orderIdKey),
    ).not.toBe(id);
  });

  it('derives separate keys per purpose and refuses a short secret', () => {
    const keys = deriveKeys('s'.repeat(40));
    expect(keys.orderIdKey.equals(keys.capabilityTokenKey)).toBe(false);
    expect(keys.mppSecretKey).toHaveLength(64);
    expect(() => deriveKeys('short')).toThrow(/at least 32 bytes/);
  });
});
