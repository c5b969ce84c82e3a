import { createHash } from 'node:crypto';
import { Credential, Errors, Method, Store, z } from 'mppx';
import { literal } from 'zod';
import type { PaymentAttempt } from '../../core/payment-records.js';
import type { AttemptRecovery, Clock } from '../../core/ports.js';
import { contextFlag } from './context-values.js';
import { paymentMethod } from './payment-method.js';
import { recoveredCharge } from './recovered-charge.js';

/**
 * The `test` payment method: intent `charge`, credential payload `{ "outcome": "paid" }`
 * or `{ "outcome": "declined" }`. No money moves. It is on by default only in the local
 * storefront; a deployment refuses it unless the operator explicitly enables it.
 */
const TEST_METHOD_LABEL = 'TEST PAYMENT, no money moves';

/** The test method: it moves no money and takes any amount; no secret, no provider. */
export const testMethod = paymentMethod({
  facts: { key: 'test/charge', name: 'test', minimumChargeCents: 1 },
  currency: 'usd',
  context: { testPayments: contextFlag },
  isOn: (context) => context.testPayments,
  turnedOnBy: 'storefront:testPayments (never in production)',
  money: { moves: 'none', switchKey: 'storefront:testPayments' },
  secrets: {},
  // The operator's switch again, in each function that could accept it: a function told to
  // accept the test method without it refuses to start (a second lock on free leases).
  environment: { TEST_PAYMENTS: literal('enabled') },
  environmentFrom: () => ({ TEST_PAYMENTS: 'enabled' }),
  permissions: [],
  egress: [],
  // `npm start` takes test payments unless told otherwise.
  localDefaults: { testPayments: true },
  charging: ({ replayStore, clock }) => ({
    server: testChargeServer(replayStore, clock),
    offer: (terms) => ({
      description: `${TEST_METHOD_LABEL}: ${terms.description}`,
      amount: String(terms.amountCents),
    }),
    recover: (attempt, now) => recoverTestCharge(replayStore, attempt, now),
  }),
  // Nothing moves back either: a stable reference per refund key.
  refunding:
    () =>
    async ({ idempotencyKey }) => ({
      status: 'refunded',
      reference: `test_refund_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`,
    }),
});

/**
 * The method's definition, made when a server or client is built: as a module constant its
 * schema calls would keep mppx and zod in the functions that only read the method's facts.
 */
const testChargeDefinition = () =>
  Method.from({
    name: 'test',
    intent: 'charge',
    schema: {
      credential: {
        payload: z.object({ outcome: z.enum(['paid', 'declined']) }),
      },
      request: z.object({
        amount: z.string(),
        currency: z.string(),
        description: z.optional(z.string()),
        externalId: z.optional(z.string()),
      }),
    },
  });

const replayKey = (challengeId: string) => `test:charge:${challengeId}`;
const testReference = (challengeId: string) => `test_${challengeId.slice(0, 24)}`;

/**
 * What a test attempt came to: its replay marker is written in the same step that "takes the
 * money", so a marker for the attempt's challenge means it was charged.
 */
async function recoverTestCharge(
  replayStore: Store.AtomicStore,
  attempt: PaymentAttempt,
  now: Date,
): Promise<AttemptRecovery> {
  if ((await replayStore.get(replayKey(attempt.challenge_id))) === null) {
    return { kind: 'not_charged' };
  }
  return recoveredCharge('test', testReference(attempt.challenge_id), attempt, now);
}

function testChargeServer(replayStore: Store.AtomicStore, clock?: Clock) {
  const now = () => clock?.now() ?? new Date();
  return Method.toServer(testChargeDefinition(), {
    defaults: { currency: 'usd' },
    async validate({ credential }) {
      if (credential.payload.outcome !== 'paid') {
        throw new Errors.VerificationFailedError({ reason: 'the test payment was declined' });
      }
      return {
        challenge: credential.challenge,
        credential,
        details: { mode: 'test' },
        intent: 'charge',
        method: 'test',
        request: credential.challenge.request,
      };
    },
    async broadcast({ credential, request }) {
      if (credential.payload.outcome !== 'paid') {
        throw new Errors.VerificationFailedError({ reason: 'the test payment was declined' });
      }
      const expires = credential.challenge.expires
        ? Date.parse(credential.challenge.expires)
        : now().getTime() + 3_600_000;
      const firstUse = await Store.tryClaim(
        replayStore,
        replayKey(credential.challenge.id),
        expires,
      );
      if (!firstUse) {
        throw new Errors.InvalidChallengeError({
          id: credential.challenge.id,
          reason: 'this test credential was already used',
        });
      }
      return {
        method: 'test',
        status: 'success',
        timestamp: now().toISOString(),
        reference: testReference(credential.challenge.id),
        ...(request.externalId ? { externalId: request.externalId } : {}),
      };
    },
  });
}

/** Client side of the test method, for tests, demos and agents trying the local storefront. */
export function testChargeClient(outcome: 'paid' | 'declined' = 'paid') {
  return Method.toClient(testChargeDefinition(), {
    async createCredential({ challenge }) {
      return Credential.serialize({ challenge, payload: { outcome } });
    },
  });
}
