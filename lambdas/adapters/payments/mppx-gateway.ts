import { Receipt, type Store } from 'mppx';
// The chain-free entry point: 'mppx/server' would bundle viem and every payment rail.
import { Mppx } from 'mppx/server/core';
import { catalogBelowMinimum, testMethodBesideLiveKey } from '../../core/payment-configuration.js';
import type { PaymentAttempt } from '../../core/payment-records.js';
import type {
  AttemptRecovery,
  ChargeOutcome,
  ChargeTerms,
  Clock,
  PaymentGateway,
  PresentedCredential,
} from '../../core/ports.js';
import { formatCents } from '../../core/pricing.js';
import type { Catalog } from '../../core/products.js';
import { METHOD_MINIMUM_CENTS, type MethodKey, minimumChargeCents } from './accepted-methods.js';
import { readPresentedCredential } from './presented-credential.js';
import { StripeApi } from './stripe-api.js';
import { recoverStripeCharge, type StripeSettings, stripeChargeMethod } from './stripe-method.js';
import { recoverTestCharge, TEST_METHOD_LABEL, testChargeServer } from './test-method.js';

export type { StripeSettings } from './stripe-method.js';

export interface PaymentSettings {
  /** Signs challenges; derived from the storefront secret. */
  secretKey: string;
  /** Shown to agents in every challenge; the API's public host. */
  realm: string;
  stripe?: StripeSettings;
  /** Where Stripe is reached; a stand-in in tests. */
  stripeFetch?: typeof fetch;
  /** The no-money test method; never on unless the operator turned it on. */
  testPayments: boolean;
  replayStore: Store.AtomicStore;
  clock?: Clock;
  /** Checked at start: every price it can produce must be payable by some method. */
  catalog?: Catalog;
}

/**
 * One accepted payment method: its mppx server method, what its challenge offers for given
 * terms, and how to find out what a lost attempt came to. Adding a method is one more of these.
 */
interface MethodPlugin {
  key: MethodKey;
  minimumChargeCents: number;
  server: unknown;
  offer(terms: ChargeTerms): Record<string, unknown>;
  recover(attempt: PaymentAttempt, now: Date): Promise<AttemptRecovery>;
}

function plugins(settings: PaymentSettings): MethodPlugin[] {
  const methods: MethodPlugin[] = [];
  if (settings.stripe) {
    const api = new StripeApi({
      secretKey: settings.stripe.secretKey,
      ...(settings.stripeFetch ? { fetch: settings.stripeFetch } : {}),
    });
    methods.push({
      key: 'stripe/charge',
      minimumChargeCents: METHOD_MINIMUM_CENTS['stripe/charge'],
      server: stripeChargeMethod(settings.stripe, api),
      offer: (terms) => ({
        description: terms.description,
        amount: formatCents(terms.amountCents),
        // Set on the PaymentIntent, so Stripe's dashboard and searches find the order.
        metadata: { external_id: terms.externalId },
      }),
      recover: (attempt, now) => recoverStripeCharge(api, attempt, now),
    });
  }
  if (settings.testPayments) {
    methods.push({
      key: 'test/charge',
      minimumChargeCents: METHOD_MINIMUM_CENTS['test/charge'],
      server: testChargeServer(settings.replayStore),
      offer: (terms) => ({
        description: `${TEST_METHOD_LABEL}: ${terms.description}`,
        amount: String(terms.amountCents),
      }),
      recover: (attempt, now) => recoverTestCharge(settings.replayStore, attempt, now),
    });
  }
  if (methods.length === 0) {
    throw new Error(
      'no payment method is configured: set up Stripe, or enable test payments outside production',
    );
  }
  return methods;
}

async function problemDetail(response: Response): Promise<string | undefined> {
  try {
    const problem = (await response.clone().json()) as { detail?: unknown; title?: unknown };
    if (typeof problem.detail === 'string') return problem.detail;
    if (typeof problem.title === 'string') return problem.title;
  } catch {
    // Not a problem+json body; the status says enough.
  }
  return undefined;
}

/** The storefront's payments over MPP, with mppx as the only code that speaks the protocol. */
export class MppxPaymentGateway implements PaymentGateway {
  readonly methods: readonly string[];
  readonly minimumChargeCents: number;
  private readonly plugins: MethodPlugin[];
  private readonly plain;
  private readonly besideAuthorization;
  private readonly clock: Clock;

  constructor(settings: PaymentSettings) {
    const refusal = testMethodBesideLiveKey({
      testPayments: settings.testPayments,
      ...(settings.stripe ? { stripeSecretKey: settings.stripe.secretKey } : {}),
    });
    if (refusal) throw new Error(refusal);
    this.plugins = plugins(settings);
    const unpayable = settings.catalog
      ? catalogBelowMinimum(
          settings.catalog,
          minimumChargeCents(this.plugins.map((plugin) => plugin.key)),
        )
      : [];
    if (unpayable.length)
      throw new Error(`the catalog cannot be paid for: ${unpayable.join('; ')}`);
    this.methods = this.plugins.map((plugin) => plugin.key);
    this.minimumChargeCents = minimumChargeCents(this.plugins.map((plugin) => plugin.key));
    this.clock = settings.clock ?? { now: () => new Date() };
    const common = {
      methods: this.plugins.map((plugin) => plugin.server) as never[],
      secretKey: settings.secretKey,
      realm: settings.realm,
    };
    this.plain = Mppx.create(common);
    // Where Authorization carries a capability token, the credential moves to Payment-Authorization.
    this.besideAuthorization = Mppx.create({ ...common, requiresAuth: true });
  }

  readCredential(request: Request, authorizationTaken = false): PresentedCredential {
    return readPresentedCredential(request, authorizationTaken);
  }

  async recover(attempt: PaymentAttempt): Promise<AttemptRecovery> {
    const plugin = this.plugins.find((candidate) => candidate.key === `${attempt.method}/charge`);
    if (!plugin) {
      return { kind: 'unknown', reason: `payment method ${attempt.method} is not configured` };
    }
    return plugin.recover(attempt, this.clock.now());
  }

  async charge(request: Request, terms: ChargeTerms): Promise<ChargeOutcome> {
    const mppx = terms.authorizationTaken ? this.besideAuthorization : this.plain;
    const common = {
      expires: terms.expires,
      meta: terms.binding,
      externalId: terms.externalId,
    };
    const entries = this.plugins
      .filter((plugin) => terms.amountCents >= plugin.minimumChargeCents)
      .map((plugin) => [plugin.key, { ...common, ...plugin.offer(terms) }] as const);
    const presented = this.readCredential(request, terms.authorizationTaken).kind !== 'none';
    const result = await mppx.compose(...(entries as never[]))(request);
    if (result.status === 402) {
      const response = result.challenge as Response;
      const status = response.status === 400 ? 400 : response.status >= 500 ? 502 : 402;
      const challengeHeaders = new Headers();
      const challenge = response.headers.get('www-authenticate');
      if (challenge) challengeHeaders.set('www-authenticate', challenge);
      const reason = presented ? await problemDetail(response) : undefined;
      return {
        kind: 'refused',
        status,
        challengeHeaders,
        ...(reason ? { reason } : {}),
        // mppx turns anything but a typed payment error into a 500: money may have moved.
        ...(presented && status === 502 ? { outcomeUnknown: true } : {}),
      };
    }
    const withReceipt = result.withReceipt(new Response(null, { status: 204 })) as Response;
    const receiptHeader = withReceipt.headers.get('payment-receipt');
    if (!receiptHeader) throw new Error('mppx accepted a payment without issuing a receipt');
    const receipt = Receipt.fromResponse(withReceipt);
    return {
      kind: 'paid',
      payment: {
        method: receipt.method,
        reference: receipt.reference,
        receipt_header: receiptHeader,
      },
    };
  }
}
