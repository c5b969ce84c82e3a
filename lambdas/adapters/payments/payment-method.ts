import type { Store } from 'mppx';
import type { PaymentAttempt } from '../../core/payment-records.js';
import type { AttemptRecovery, ChargeTerms, Clock } from '../../core/ports.js';

/**
 * What one payment method is, as its own module (`<name>-method.ts`) declares it: the facts
 * any function may know, how a paying function charges with it and recovers a lost attempt,
 * and how a refund gives its money back. The registry (payment-methods.ts) lists them.
 */

/** Which methods the operator turned on (CDK context, then each function's environment). */
export interface MethodSwitches {
  stripe: boolean;
  testPayments: boolean;
}

/** Which methods settings for charging turn on. */
export const switchesOf = (settings: MethodSettings): MethodSwitches => ({
  stripe: Boolean(settings.stripe),
  testPayments: settings.testPayments,
});

/** What the storefront configures for charging with its methods. */
export interface MethodSettings {
  stripe?: StripeSettings;
  /** Where Stripe is reached; a stand-in in tests. */
  stripeFetch?: typeof fetch;
  /** The no-money test method; never on unless the operator turned it on. */
  testPayments: boolean;
  /** Consumed credentials (the test method's proof that it "took the money"). */
  replayStore: Store.AtomicStore;
  /** The storefront's clock, for the times a method writes itself (the test receipt's). */
  clock?: Clock;
}

export interface StripeSettings {
  secretKey: string;
  /** Stripe Business Network profile id (profile_…). */
  networkId: string;
  paymentMethodTypes: string[];
}

/** What the storefront configures for refunds (the refunding functions hold no network id). */
export interface RefundSettings {
  /** Stripe secret key; without it Stripe payments cannot be refunded by this function. */
  stripeSecretKey?: string;
  /** Where Stripe is reached; a stand-in in tests. */
  stripeFetch?: typeof fetch;
  clock: Clock;
}

/** What every function may know of a method without loading any of its code. */
export interface MethodFacts {
  /** `name/intent` as challenges offer it. */
  key: `${string}/charge`;
  /** mppx's method name, as receipts and payment records carry it. */
  name: string;
  /** The smallest charge it can take (card networks have minimums); smaller offers leave it out. */
  minimumChargeCents: number;
  /** Whether the operator turned it on. */
  accepted(switches: MethodSwitches): boolean;
}

/** A method set up to take payments in one function. */
export interface ChargingMethod {
  /** The mppx server method. */
  server: unknown;
  /** What its challenge offers for the terms (amount in its units, description, metadata). */
  offer(terms: ChargeTerms): Record<string, unknown>;
  /** What a lost attempt came to, asked of the provider that took (or did not take) the money. */
  recover(attempt: PaymentAttempt, now: Date): Promise<AttemptRecovery>;
}

/** Gives back what one payment took; the same idempotency key never refunds twice. */
export type MethodRefund = (input: {
  /** The payment's reference as the method recorded it. */
  reference: string;
  amountCents: number;
  idempotencyKey: string;
}) => Promise<{ status: 'refunded' | 'pending'; reference: string }>;

export interface PaymentMethod {
  facts: MethodFacts;
  /** The method built from the storefront's settings, once `facts.accepted` says it is on. */
  charging(settings: MethodSettings): ChargingMethod;
  /** Its refund, built once per function (it may throw when asked, if a key is missing). */
  refunding(settings: RefundSettings): MethodRefund;
}
