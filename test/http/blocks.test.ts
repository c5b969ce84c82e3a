import type { BlockRecord } from '../../lambdas/core/blocks.js';
import { sshKeyFingerprint } from '../../lambdas/core/blocks.js';
import { buyMachine, type Harness, orderBody, startHarness } from '../support/harness.js';
import { ed25519Key } from '../support/ssh-keys.js';

const blockOf = (overrides: Partial<BlockRecord>): BlockRecord => ({
  kind: 'ssh_key',
  value: '',
  reason: 'cryptocurrency mining (GuardDuty finding)',
  blocked_by: 'test-operator',
  blocked_at: new Date().toISOString(),
  ...overrides,
});

describe('blocked buyers are refused before any challenge', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness({ allowUnpaidCreate: true });
  });
  afterAll(() => api.close());

  const expectRefused = async (body: unknown, pattern: RegExp) => {
    const before = await api.itemCount();
    for (const reply of [
      await api.order(body),
      await api.validate(body),
      await api.createUnpaid(body),
    ]) {
      expect(reply.status).toBe(403);
      expect(reply.body.error).toMatch(pattern);
      expect(reply.body.error).toContain(`${api.url}/acceptable-use`);
      expect(reply.headers.get('www-authenticate')).toBeNull();
      expect(reply.headers.get('x-amzn-remapped-www-authenticate')).toBeNull();
    }
    expect(await api.itemCount()).toBe(before);
  };

  it('refuses a blocked SSH key with the reason and the policy URL, storing nothing', async () => {
    const key = ed25519Key('blocked@example');
    await api.storefront.blocks.put(blockOf({ value: sshKeyFingerprint(key) }));
    await expectRefused(orderBody({ ssh_public_key: key }), /SSH key.*cryptocurrency mining/);
    // Another key from the same client is sold to as before.
    expect((await api.order(orderBody({ ssh_public_key: ed25519Key() }))).status).toBe(402);
  });

  it('refuses a client address range as the front door sees the client', async () => {
    await api.storefront.blocks.put(
      blockOf({ kind: 'client_range', value: '127.0.0.0/8', reason: 'port scanning' }),
    );
    try {
      await expectRefused(
        orderBody({ ssh_public_key: ed25519Key() }),
        /client address.*port scanning/,
      );
      // A forged forwarding header changes nothing: the viewer address is the front door's.
      const forged = await api.order(orderBody({ ssh_public_key: ed25519Key() }), {
        'x-forwarded-for': '192.0.2.1',
        'cloudfront-viewer-address': '192.0.2.1:443',
        'x-storefront-viewer-address': '192.0.2.1',
      });
      expect(forged.status).toBe(403);
    } finally {
      await api.storefront.blocks.remove('client_range', '127.0.0.0/8');
    }
    expect((await api.order(orderBody({ ssh_public_key: ed25519Key() }))).status).toBe(402);
  });

  it('ignores an expired block', async () => {
    const key = ed25519Key();
    await api.storefront.blocks.put(
      blockOf({
        value: sshKeyFingerprint(key),
        expires_at: new Date(Date.now() - 1000).toISOString(),
      }),
    );
    expect((await api.order(orderBody({ ssh_public_key: key }))).status).toBe(402);
  });

  it("answers a paid order's retry with its machine after the key was blocked", async () => {
    const key = ed25519Key();
    const body = orderBody({ ssh_public_key: key });
    const paid = await api.payOrder(body);
    expect(paid.status).toBe(202);
    await api.storefront.blocks.put(blockOf({ value: sshKeyFingerprint(key) }));
    const again = await api.order(body);
    expect(again.status).toBe(202);
    expect(again.body.order_id).toBe(paid.body.order_id);
    expect((await api.order(orderBody({ ssh_public_key: key }))).status).toBe(403);
  });

  it('lists and removes blocks', async () => {
    const machine = await buyMachine(api, { ssh_public_key: ed25519Key() });
    expect(machine.machineId).toMatch(/^machine_/);
    const all = await api.storefront.blocks.list();
    expect(all.some((block) => block.kind === 'ssh_key')).toBe(true);
    for (const block of all) await api.storefront.blocks.remove(block.kind, block.value);
    expect(await api.storefront.blocks.list()).toEqual([]);
  });
});

describe('live leases per SSH key (blast radius per buyer)', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness({
      catalogOverride: { 'bare-linux-machine': { maxLiveLeasesPerKey: 2 } },
    });
  });
  afterAll(() => api.close());

  it("refuses the key's next lease of that product with 429 before any challenge", async () => {
    const key = ed25519Key('first@example');
    const first = await buyMachine(api, { ssh_public_key: key });
    await buyMachine(api, { ssh_public_key: key });
    const before = await api.itemCount();
    // The same key under another comment is the same buyer.
    const sameKey = `${key.split(' ').slice(0, 2).join(' ')} renamed@example`;
    for (const body of [
      orderBody({ ssh_public_key: key }),
      orderBody({ ssh_public_key: sameKey }),
    ]) {
      const refused = await api.order(body);
      expect(refused.status).toBe(429);
      expect(refused.body.error).toMatch(/already holds 2 live bare-linux-machine leases/);
      expect(refused.headers.get('retry-after')).toBe('60');
      expect(refused.headers.get('www-authenticate')).toBeNull();
      expect((await api.validate(body)).status).toBe(429);
    }
    expect(await api.itemCount()).toBe(before);
    // Another key is sold to as before.
    expect((await api.order(orderBody({ ssh_public_key: ed25519Key() }))).status).toBe(402);
    // Once a lease has ended, the key may lease again.
    await api.terminate(first.machineId, first.tokens.terminate_token);
    await api.waitForStatus(first.machineId, first.tokens.read_token, ['terminated']);
    expect((await api.order(orderBody({ ssh_public_key: key }))).status).toBe(402);
  });
});
