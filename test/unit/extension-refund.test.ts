import { revealTokens } from '../../lambdas/core/capability-tokens.js';
import { DEFAULT_CATALOG } from '../../lambdas/core/catalog.js';
import { ApiProblem } from '../../lambdas/core/errors.js';
import { deriveKeys } from '../../lambdas/core/keys.js';
import type { ExtensionRecord } from '../../lambdas/core/machine.js';
import type { RefundGateway } from '../../lambdas/core/ports.js';
import { extendLease } from '../../lambdas/core/use-cases/extend-lease.js';
import { DEFAULT_SETTINGS, type Storefront } from '../../lambdas/core/use-cases/storefront.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';
import { machineFixture } from '../support/fixtures.js';

describe('an extension paid while the lease changed', () => {
  it('is not applied, and the payment goes straight back', async () => {
    const keys = deriveKeys('k'.repeat(40));
    const machineId = 'machine_0123456789abcdef';
    const machine = machineFixture(
      { machineId, tokenKey: keys.capabilityTokenKey, now: new Date() },
      { status: 'active' },
    );
    const token = revealTokens(keys.capabilityTokenKey, machineId, machine)?.extend_token;
    const recorded: ExtensionRecord[] = [];
    const refundCalls: unknown[] = [];
    const refunds: RefundGateway = {
      refund: async (input) => {
        refundCalls.push(input);
        return {
          status: 'refunded',
          amount_cents: input.amountCents,
          reference: 're_1',
          refunded_at: 'now',
        };
      },
    };
    const storefront = {
      settings: { ...DEFAULT_SETTINGS, catalog: DEFAULT_CATALOG, keys, provider: 'aws-ec2' },
      machines: {
        get: async () => machine,
        // Terminated (or extended) by someone else between the payment and the update.
        applyExtension: async () => undefined,
        getExtension: async () => undefined,
        recordUnappliedExtension: async (extension: ExtensionRecord) => {
          recorded.push(extension);
          return true;
        },
        recordExtensionRefund: async () => true,
        lockForExtension: async () => machine,
        releaseExtensionLock: async () => {},
      },
      payments: {
        methods: ['test/charge'],
        minimumChargeCents: 1,
        readCredential: () => ({
          kind: 'credential',
          challengeId: 'challenge-1',
          method: 'test',
          digest: 'd'.repeat(64),
        }),
        recover: async () => ({ kind: 'not_charged' }),
        charge: async () => ({
          kind: 'paid',
          payment: { method: 'test', reference: 'test_pay_1', receipt_header: 'r' },
        }),
      },
      refunds,
      clock: { now: () => new Date() },
      log: memoryLogger(),
    } as unknown as Storefront;

    const attempt = extendLease(storefront, new Request('http://x'), machineId, `Bearer ${token}`, {
      additional_minutes: 10,
    });
    await expect(attempt).rejects.toThrow(ApiProblem);
    await expect(
      extendLease(storefront, new Request('http://x'), machineId, `Bearer ${token}`, {
        additional_minutes: 10,
      }),
    ).rejects.toThrow(/was not applied.*its payment 0\.50 USD was refunded/);
    expect(refundCalls[0]).toMatchObject({ amountCents: 50, payment: { reference: 'test_pay_1' } });
    expect(recorded[0]).toMatchObject({ refund_due: true, amount_cents: 50 });
  });
});
