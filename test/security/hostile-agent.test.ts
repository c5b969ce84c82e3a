import { request as httpRequest } from 'node:http';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { Challenge, Credential } from 'mppx';
import { readyCallbackOf } from '../../lambdas/local/simulated-boot.js';
import { type Harness, orderBody, type Reply, startHarness } from '../support/harness.js';
import { offsetClock } from '../support/offset-clock.js';
import { ed25519Key } from '../support/ssh-keys.js';

/**
 * What a hostile agent controls, over real HTTP against the local storefront: the headers
 * that once steered the machine's callback, the key bytes that reach cloud-init, and the
 * challenge expiry that only the payment SDK checked (against the real clock).
 */
const HOSTILE_FORWARDING = {
  'x-forwarded-host': 'attacker.example',
  'x-forwarded-proto': 'http://attacker.example/steal?',
};

function testCredential(reply: Reply) {
  return Credential.serialize({
    challenge: Challenge.fromHeaders(reply.headers),
    payload: { outcome: 'paid' },
  });
}

/** A raw request, so that Host itself can be what the agent chooses. */
function rawRequest(url: string, path: string, headers: Record<string, string>, body: string) {
  const target = new URL(url);
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const sent = httpRequest(
      { host: target.hostname, port: target.port, path, method: 'POST', headers },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    sent.on('error', reject);
    sent.end(body);
  });
}

describe('a hostile agent', () => {
  let api: Harness;
  const clock = offsetClock();
  beforeAll(async () => {
    api = await startHarness({ clock });
  });
  afterAll(() => api.close());

  const userDataOf = (machineId: string) => {
    const machine = api.fleet.ec2.calls.find(
      (call) =>
        call.command === RunInstancesCommand.name && JSON.stringify(call.input).includes(machineId),
    );
    return (machine?.input as { UserData?: string } | undefined)?.UserData ?? '';
  };

  it('cannot steer where its machine calls back, or any URL an answer carries, with request headers', async () => {
    const body = orderBody();
    const quoted = await rawRequest(
      api.url,
      '/api/machine/mpp/orders',
      { host: 'attacker.example', 'content-type': 'application/json', ...HOSTILE_FORWARDING },
      JSON.stringify(body),
    );
    expect(quoted.status).toBe(402);
    expect(quoted.text).not.toContain('attacker');
    const index = await api.request('GET', '/', { headers: HOSTILE_FORWARDING });
    expect(index.body.openapi).toBe(`${api.url}/openapi.json`);

    const paid = await api.payOrder(body);
    expect(paid.status).toBe(202);
    const machineId = (paid.body.machine as { machine_id: string }).machine_id;
    expect(String(paid.body.order_complete_url ?? '')).not.toContain('attacker');
    const deadline = Date.now() + 30_000;
    while (!userDataOf(machineId) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const callback = readyCallbackOf(userDataOf(machineId));
    expect(callback?.url).toBe(`${api.url}/api/machines/${machineId}/ready`);
  });

  it('cannot force a refund with a forwarded scheme: the paid lease runs', async () => {
    const reply = await api.agent().fetch(`${api.url}/api/machine/mpp/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'ftp' },
      body: JSON.stringify(orderBody()),
    });
    expect(reply.status).toBe(202);
    const { machine } = (await reply.json()) as {
      machine: { machine_id: string; management: { read_token: string } };
    };
    const active = await api.waitForStatus(machine.machine_id, machine.management.read_token, [
      'active',
      'failed',
    ]);
    expect(active.body.status).toBe('active');
  });

  it('cannot put a second authorized_keys line through its key: refused before any challenge', async () => {
    const before = await api.itemCount();
    for (const comment of ['a\u0085\u0085command="sh" ssh-ed25519 AAAA', 'a\u0080', 'a\u2028b']) {
      const reply = await api.order(orderBody({ ssh_public_key: ed25519Key(comment) }));
      expect(reply.status).toBe(400);
      expect(reply.body.error).toMatch(/printable ASCII/);
      expect(reply.headers.get('www-authenticate')).toBeNull();
    }
    expect(await api.itemCount()).toBe(before);
  });

  it('cannot make a paid launch fail with a key whose user data EC2 refuses (over 16 KB)', async () => {
    // Each `\\` or `"` of a comment is two bytes in the user data: 8 KiB of them are 16 KiB.
    const base = ed25519Key('');
    for (const character of ['\\', '"']) {
      const key = `${base.trim()} ${character.repeat(8 * 1024 - base.trim().length - 1)}`;
      const body = orderBody({ ssh_public_key: key });
      const quoted = await api.order(body);
      if (quoted.status === 400) {
        // Refused before any challenge: nothing to pay, nothing to refund.
        expect(quoted.headers.get('www-authenticate')).toBeNull();
        continue;
      }
      const paid = await api.payOrder(body);
      expect(paid.status).toBe(202);
      const { machine } = paid.body as {
        machine: { machine_id: string; management: { read_token: string } };
      };
      const settled = await api.waitForStatus(machine.machine_id, machine.management.read_token, [
        'active',
        'failed',
      ]);
      expect(settled.body.status).toBe('active');
    }
  });

  it("cannot pay an order's challenge once it has expired on the storefront's clock", async () => {
    const body = orderBody();
    const challenged = await api.order(body);
    expect(challenged.status).toBe(402);
    const credential = testCredential(challenged);
    // Past the challenge's expiry by the storefront's clock (mppx looks at the real one).
    clock.jump(60 * 60_000);
    const late = await api.order(body, {
      authorization: `Payment ${credential.replace(/^Payment /, '')}`,
    });
    expect(late.status).toBe(402);
    expect(late.body.error).toMatch(/expired/);
    expect(late.headers.get('www-authenticate')).toMatch(/^Payment /);
    const order = await api.getOrder(String(challenged.body.order_id));
    expect(order.body.status).toBe('unpaid');
    // The fresh challenge pays.
    const fresh = await api.order(body, { authorization: testCredential(late) });
    expect(fresh.status).toBe(202);
  });

  it("cannot pay an extension's challenge once it has expired on the storefront's clock", async () => {
    const paid = await api.payOrder(orderBody());
    const { machine_id: machineId, management } = paid.body.machine as {
      machine_id: string;
      management: { read_token: string; extend_token: string };
    };
    await api.waitForStatus(machineId, management.read_token, ['active']);
    const body = { additional_minutes: 30, request_id: crypto.randomUUID() };
    const challenged = await api.extend(machineId, management.extend_token, body);
    expect(challenged.status).toBe(402);
    clock.jump(20 * 60_000);
    const late = await api.extend(machineId, management.extend_token, body, {
      'payment-authorization': testCredential(challenged),
    });
    expect(late.status).toBe(402);
    expect(late.body.error).toMatch(/expired/);
    const stored = await api.storefront.machines.get(machineId, clock.now());
    expect(stored?.extensions).toBeUndefined();
  });
});
