import type { Store } from 'mppx';
import type * as z from 'zod';
import type { PaymentAttempt } from '../../core/payment-records.js';
import type { AttemptRecovery, ChargeTerms, Clock } from '../../core/ports.js';

/**
 * What one payment method is, as its own module (`<name>-method.ts`) declares it, and
 * everything else derives from: the CDK stack (its context keys, secrets, environment and
 * grants: lib/payment-method-wiring.ts), the functions (their settings and clients:
 * payment-methods-in-environment.ts), the local storefront (its defaults) and the
 * preflight check. The registry (payment-methods.ts) lists the modules; adding a method is
 * its module and one line there.
 *
 * Functions that only describe payments (health, discovery, validate) load none of this: the
 * stack hands them the accepted methods' facts (accepted-methods.ts), so they bundle no mppx.
 */

/** What every function may know of a method without loading any of its code. */
export interface MethodFacts {
  /** `name/intent` as challenges offer it. */
  key: `${string}/charge`;
  /** mppx's method name, as receipts and payment records carry it. */
  name: string;
  /** The smallest charge it can take (card networks have minimums); smaller offers leave it out. */
  minimumChargeCents: number;
}

/**
 * The operator's keys of one method (`storefront:<key>` in cdk.json), each with its zod
 * schema. cdk.json holds their defaults; a key two methods (or a method and the stack)
 * declare fails the synth.
 */
export type MethodContextShape = z.ZodRawShape;

/** A Secrets Manager secret a method reads, named by the operator in one of its keys. */
export interface MethodSecret {
  /** The context key whose value is the secret's name. */
  nameKey: string;
  /** The variable that carries the secret's ARN (never its value) to the functions. */
  arnVariable: string;
  /** What it holds, as the preflight check and the docs say it. */
  holds: string;
  /** What a value looks like, for the command that puts one in (`--secret-string …`). */
  example: string;
  /** Refunds need it too: the workflow's refund, cleanup and reconcile functions read it. */
  forRefunds: boolean;
}

/** An IAM statement the functions that use the method need besides reading its secrets. */
export interface MethodPermission {
  actions: string[];
  resources: string[];
}

/**
 * Whether a method moves real money, and so whether the no-money method may stand beside
 * it. Both a synth check (on the operator's word) and a runtime check (on the key) use it.
 */
export type MethodMoney =
  | {
      moves: 'real';
      /**
       * At synth the secret's value is unknown: the reason the no-money method may not be on
       * beside this one with these keys (the operator has not said it is in test mode), if so.
       */
      liveAtSynth(context: Record<string, unknown>): string | undefined;
      /** At start: whether the secrets it was given move real money (a live key). */
      liveSecrets(secrets: Readonly<Record<string, string | undefined>>): boolean;
    }
  | {
      moves: 'none';
      /** The key that turns it on, named when it is refused beside real money. */
      switchKey: string;
    };

/** What a function gives a method to take payments with. */
export interface ChargingInput {
  /** The method's own variables, parsed with its `environment` schema. */
  environment: Record<string, unknown>;
  /** Its secrets' values, by their id in `secrets`. */
  secrets: Readonly<Record<string, string | undefined>>;
  /** Consumed credentials (the test method's proof that it "took the money"). */
  replayStore: Store.AtomicStore;
  /** The storefront's clock, for the times a method writes itself (the test receipt's). */
  clock?: Clock;
  /** Where payment providers' APIs are reached; a stand-in locally and in tests. */
  fetch?: typeof fetch;
}

/** What a function gives a method to give money back with. */
export interface RefundingInput {
  environment: Record<string, unknown>;
  /** Only the secrets marked `forRefunds`; a refund without one it needs fails when asked. */
  secrets: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  fetch?: typeof fetch;
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

export interface PaymentMethod<Context extends MethodContextShape = MethodContextShape> {
  facts: MethodFacts;
  /** Currency of its charges, as mppx's request carries it. */
  currency: string;

  // Deployment: what the operator configures and the stack derives.
  /** Its `storefront:` keys. */
  context: Context;
  /** Whether the operator turned it on, by its keys. */
  isOn(context: z.output<z.ZodObject<Context>>): boolean;
  /** What is wrong with its keys taken together (the synth fails saying it), if anything. */
  misconfigured?(context: z.output<z.ZodObject<Context>>): string | undefined;
  /** The keys that turn it on, for the "no payment method is configured" warnings. */
  turnedOnBy: string;
  money: MethodMoney;
  /** Its secrets, by id (the id the runtime gives their values under). */
  secrets: Readonly<Record<string, MethodSecret>>;
  /**
   * The variables its functions need (never secrets), as a schema of strings: the stack sets
   * them from its keys, each function parses them with this schema.
   */
  environment: z.ZodRawShape;
  environmentFrom(context: z.output<z.ZodObject<Context>>): Record<string, string>;
  /** IAM beyond its secrets; none where it is reached over HTTPS only. */
  permissions: readonly MethodPermission[];
  /**
   * Hosts its functions call. The functions run outside any VPC, so they reach them; the stack
   * refuses to give the method to a function bound to a VPC (lib/payment-method-wiring.ts).
   */
  egress: readonly string[];
  /** npm start's values for its keys, over cdk.json's (the test method is on locally). */
  localDefaults?: Partial<Record<keyof Context, unknown>>;

  // Runtime: what the functions that take and give back payments build.
  /** The method built for a paying function (the order, extension and sweeper functions). */
  charging(input: ChargingInput): ChargingMethod;
  /** Its refund, built once per function (it may throw when asked, if a secret is missing). */
  refunding(input: RefundingInput): MethodRefund;
}

/** Checks a method module against the interface while keeping its own context type. */
export const paymentMethod = <Context extends MethodContextShape>(
  method: PaymentMethod<Context>,
): PaymentMethod<Context> => method;
