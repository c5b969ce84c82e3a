import { Challenge, Credential } from 'mppx';
import type { PaymentGateway } from '../../lambdas/core/ports.js';
import { sweepPayments } from '../../lambdas/core/use-cases/sweep-payments.js';
import { crashing } from '../support/crash-injection.js';
import { buyMachine, type Harness, type Reply, startHarness } from '../support/harness.js';
import { offsetClock } from '../support/offset-clock.js';

function testCredential(reply: Reply) {
  return Credential.serialize({
    challenge: Challenge.fromHeaders(reply.headers),
    payload: { outcome: 'paid' },
  });
}

/** Paid extensions: one write applies them, a lost answer is recovered, a refund is reported. */
describe('a paid extension is applied once or refunded', () => {
  let api: Harness;
  const clock = offsetClock();
  beforeAll(async () => {
    api = await startHarness({ clock });
  });
  afterAll(() => api.close());

  const extend = (id: string, token: string, body: unknown, credential?: string) =>
    api.extend(id, token, body, credential ? { 'payment-authorization': credential } : {});

  for (const repair of ['a retry', 'the sweeper'] as const) {
    it(`a charge whose answer was lost is applied exactly once, by ${repair}`, async () => {
      const { machineId, tokens } = await buyMachine(api);
      const body = { additional_minutes: 30, request_id: crypto.randomUUID() };
      const credential = testCredential(await extend(machineId, tokens.extend_token, body));
      // The crash is injected into the extend function's own payment port.
      const extending = await api.storefrontOf('extendMachine');
      const real = extending.payments;
      extending.payments = crashing<PaymentGateway>(real, { charge: { when: 'after' } });
      try {
        expect((await extend(machineId, tokens.extend_token, body, credential)).status).toBe(500);
      } finally {
        extending.payments = real;
      }
      clock.jump(2 * 60_000);
      if (repair === 'the sweeper') {
        expect(await sweepPayments(api.storefront)).toMatchObject({ failed: 0 });
      }
      const retried = await extend(machineId, tokens.extend_token, body, credential);
      expect(retried.status).toBe(200);
      expect(retried.body.lease_minutes).toBe(90);
      const again = await extend(machineId, tokens.extend_token, body, credential);
      expect(again.body.lease_minutes).toBe(90);
      const stored = await api.storefront.machines.get(machineId, clock.now());
      expect(Object.keys(stored?.extensions ?? {})).toEqual([body.request_id]);
      expect(stored?.extension_attempts).toBeUndefined();
    });
  }

  it('applies a charge whose answer was lost when the same credential comes back after its challenge expired', async () => {
    const { machineId, tokens } = await buyMachine(api, { duration_minutes: 120 });
    const body = { additional_minutes: 30, request_id: crypto.randomUUID() };
    const credential = testCredential(await extend(machineId, tokens.extend_token, body));
    const extending = await api.storefrontOf('extendMachine');
    const real = extending.payments;
    extending.payments = crashing<PaymentGateway>(real, { charge: { when: 'after' } });
    try {
      expect((await extend(machineId, tokens.extend_token, body, credential)).status).toBe(500);
    } finally {
      extending.payments = real;
    }
    // Past the extension challenge's expiry (15 minutes): the agent retries its lost answer.
    clock.jump(20 * 60_000);
    const retried = await extend(machineId, tokens.extend_token, body, credential);
    expect(retried.body.error).toBeUndefined();
    expect(retried.status).toBe(200);
    expect(retried.body.lease_minutes).toBe(150);
  });

  it('refunds an extension paid while the lease changed, and says so on every retry', async () => {
    const { machineId, tokens } = await buyMachine(api);
    const body = { additional_minutes: 30, request_id: crypto.randomUUID() };
    const credential = testCredential(await extend(machineId, tokens.extend_token, body));
    // Another extension lands between this one's challenge and its payment.
    const other = { additional_minutes: 10, request_id: crypto.randomUUID() };
    expect(
      (
        await extend(
          machineId,
          tokens.extend_token,
          other,
          testCredential(await extend(machineId, tokens.extend_token, other)),
        )
      ).status,
    ).toBe(200);
    const refused = await extend(machineId, tokens.extend_token, body, credential);
    // The credential was bound to the old lease length: mppx refuses it, nothing is charged.
    expect(refused.status).toBe(402);

    // A payment that arrives after the lease changed (recovered later) is refunded, and the
    // retried extension reports it: never 200 with a receipt.
    const machine = await api.storefront.machines.get(machineId, clock.now());
    const { concludePaidExtension } = await import(
      '../../lambdas/core/use-cases/conclude-extension.js'
    );
    const conclusion = await concludePaidExtension(
      api.storefront,
      machineId,
      { extension_key: body.request_id, additional_minutes: 30, lease_minutes_before: 60 },
      { method: 'test', reference: 'test_late_payment', receipt_header: 'r' },
      150,
      undefined,
    );
    expect(conclusion.kind).toBe('refund_due');
    expect(machine?.lease_minutes).toBe(70);
    const retried = await extend(machineId, tokens.extend_token, body, credential);
    expect(retried.status).toBe(409);
    expect(retried.body.error).toMatch(/not applied.*1\.50 USD was refunded/);
    expect((await api.storefront.machines.get(machineId, clock.now()))?.lease_minutes).toBe(70);
  });
});
