import { Receipt, type Store } from 'mppx';
// The chain-free entry points: 'mppx/server' would bundle viem and every payment rail.
import { Mppx } from 'mppx/server/core';
import { stripe } from 'mppx/stripe/server/spt';
import type { ChargeOutcome, ChargeTerms, PaymentGateway } from '../../core/ports.js';
import { formatCents } from '../../core/pricing.js';
import {
  acceptedMethods,
  type MethodKey,
  minimumChargeCents,
  STRIPE_MINIMUM_CENTS,
} from './accepted-methods.js';
import { TEST_METHOD_LABEL, testChargeServer } from './test-method.js';

export interface StripeSettings {
  secretKey: string;
  /** Stripe Business Network profile id (profile_…). */
  networkId: string;
  paymentMethodTypes: string[];
}

export interface PaymentSettings {
  /** Signs challenges; derived from the storefront secret. */
  secretKey: string;
  /** Shown to agents in every challenge; the API's public host. */
  realm: string;
  stripe?: StripeSettings;
  /** The no-money test method; never on unless the operator turned it on. */
  testPayments: boolean;
  replayStore: Store.AtomicStore;
}

function buildMethods(settings: PaymentSettings) {
  const methods = [];
  if (settings.stripe) {
    methods.push(
      stripe.charge({
        secretKey: settings.stripe.secretKey,
        networkId: settings.stripe.networkId,
        paymentMethodTypes: settings.stripe.paymentMethodTypes,
        currency: 'usd',
        decimals: 2,
      }),
    );
  }
  if (settings.testPayments) methods.push(testChargeServer(settings.replayStore));
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
  private readonly keys: MethodKey[];
  private readonly plain;
  private readonly besideAuthorization;

  constructor(settings: PaymentSettings) {
    const methods = buildMethods(settings);
    this.keys = acceptedMethods({
      stripe: Boolean(settings.stripe),
      testPayments: settings.testPayments,
    });
    this.methods = this.keys;
    this.minimumChargeCents = minimumChargeCents(this.keys);
    const common = { methods, secretKey: settings.secretKey, realm: settings.realm };
    this.plain = Mppx.create(common);
    // Where Authorization carries a capability token, the credential moves to Payment-Authorization.
    this.besideAuthorization = Mppx.create({ ...common, requiresAuth: true });
  }

  credentialPresented(request: Request): boolean {
    const authorization = request.headers.get('authorization') ?? '';
    return /^payment\s/i.test(authorization) || request.headers.has('payment-authorization');
  }

  async charge(request: Request, terms: ChargeTerms): Promise<ChargeOutcome> {
    const mppx = terms.authorizationTaken ? this.besideAuthorization : this.plain;
    const common = {
      expires: terms.expires,
      meta: terms.binding,
      externalId: terms.externalId,
    };
    const entries = this.keys
      .filter((key) => key !== 'stripe/charge' || terms.amountCents >= STRIPE_MINIMUM_CENTS)
      .map((key) =>
        key === 'stripe/charge'
          ? ([
              key,
              { ...common, description: terms.description, amount: formatCents(terms.amountCents) },
            ] as const)
          : ([
              key,
              {
                ...common,
                description: `${TEST_METHOD_LABEL}: ${terms.description}`,
                amount: String(terms.amountCents),
              },
            ] as const),
      );
    const presented = this.credentialPresented(request);
    const result = await mppx.compose(...(entries as never[]))(request);
    if (result.status === 402) {
      const response = result.challenge as Response;
      const status = response.status === 400 ? 400 : response.status >= 500 ? 502 : 402;
      const challengeHeaders = new Headers();
      const challenge = response.headers.get('www-authenticate');
      if (challenge) challengeHeaders.set('www-authenticate', challenge);
      const reason = presented ? await problemDetail(response) : undefined;
      return { kind: 'refused', status, challengeHeaders, ...(reason ? { reason } : {}) };
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
