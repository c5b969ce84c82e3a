import { Receipt, type Store } from 'mppx';
// The chain-free entry point: 'mppx/server' would bundle viem and every payment rail.
import { Mppx } from 'mppx/server/core';
import { catalogBelowMinimum } from '../../core/payment-configuration.js';
import type { PaymentAttempt } from '../../core/payment-records.js';
import type {
  AttemptRecovery,
  ChargeOutcome,
  ChargeTerms,
  Clock,
  PaymentGateway,
  PresentedCredential,
} from '../../core/ports.js';
import type { Catalog } from '../../core/products.js';
import { minimumChargeCents } from './accepted-methods.js';
import type { ChargingMethod, MethodFacts, PaymentMethod } from './payment-method.js';
import { emptyCredentialReason, readPresentedCredential } from './presented-credential.js';

/** One accepted method with what this function configures it with. */
export interface ConfiguredMethod {
  method: PaymentMethod;
  /** Its variables, parsed by its own schema (payment-methods-in-environment.ts). */
  environment: Record<string, unknown>;
  /** Its secrets' values, by secret id. */
  secrets: Readonly<Record<string, string | undefined>>;
}

export interface PaymentSettings {
  /** The accepted methods, in the order challenges offer them. */
  methods: readonly ConfiguredMethod[];
  /** Consumed credentials (the test method's proof that it "took the money"). */
  replayStore: Store.AtomicStore;
  /** Where payment providers' APIs are reached; a stand-in locally and in tests. */
  fetch?: typeof fetch;
  /** Signs challenges; derived from the storefront secret. */
  secretKey: string;
  /** Shown to agents in every challenge; the API's public host. */
  realm: string;
  clock?: Clock;
  /** Checked at start: every price it can produce must be payable by some method. */
  catalog?: Catalog;
}

/** One accepted method, set up: its facts and how it charges (payment-methods.ts lists them). */
type AcceptedMethod = ChargingMethod & { facts: MethodFacts };

function setUpMethods(settings: PaymentSettings): AcceptedMethod[] {
  if (settings.methods.length === 0) {
    throw new Error(
      'no payment method is configured: set one up (lambdas/adapters/payments/payment-methods.ts lists them), or enable test payments outside production',
    );
  }
  return settings.methods.map(({ method, environment, secrets }) => ({
    facts: method.facts,
    ...method.charging({
      environment,
      secrets,
      replayStore: settings.replayStore,
      ...(settings.clock ? { clock: settings.clock } : {}),
      ...(settings.fetch ? { fetch: settings.fetch } : {}),
    }),
  }));
}

/**
 * The no-money method must never be offered next to a key that takes real money: any agent
 * could pick the method that takes no money.
 */
function freeBesideLiveMoney(methods: readonly ConfiguredMethod[]): string | undefined {
  const free = methods.find(({ method }) => method.money.moves === 'none');
  const live = methods.find(
    ({ method, secrets }) => method.money.moves === 'real' && method.money.liveSecrets(secrets),
  );
  if (!free || !live || free.method.money.moves !== 'none') return undefined;
  return `${free.method.facts.name} payments are on beside a live ${live.method.facts.name} key: any agent could pick the method that takes no money. Turn ${free.method.money.switchKey} off, or use a test key`;
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
  private readonly accepted: AcceptedMethod[];
  private readonly plain;
  private readonly besideAuthorization;
  private readonly clock: Clock;

  constructor(settings: PaymentSettings) {
    const refusal = freeBesideLiveMoney(settings.methods);
    if (refusal) throw new Error(refusal);
    this.accepted = setUpMethods(settings);
    this.minimumChargeCents = minimumChargeCents(this.accepted.map((method) => method.facts));
    const unpayable = settings.catalog
      ? catalogBelowMinimum(settings.catalog, this.minimumChargeCents)
      : [];
    if (unpayable.length)
      throw new Error(`the catalog cannot be paid for: ${unpayable.join('; ')}`);
    this.methods = this.accepted.map((method) => method.facts.key);
    this.clock = settings.clock ?? { now: () => new Date() };
    const common = {
      methods: this.accepted.map((method) => method.server) as never[],
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
    const method = this.accepted.find((candidate) => candidate.facts.name === attempt.method);
    if (!method) {
      return { kind: 'unknown', reason: `payment method ${attempt.method} is not configured` };
    }
    return method.recover(attempt, this.clock.now());
  }

  async challenge(request: Request, terms: ChargeTerms, reason: string) {
    const headers = new Headers(request.headers);
    headers.delete(terms.authorizationTaken ? 'payment-authorization' : 'authorization');
    const outcome = await this.charge(
      new Request(request.url, { method: request.method, headers }),
      terms,
    );
    if (outcome.kind === 'paid') throw new Error('payment accepted without a credential');
    return { ...outcome, reason };
  }

  async charge(request: Request, terms: ChargeTerms): Promise<ChargeOutcome> {
    const mppx = terms.authorizationTaken ? this.besideAuthorization : this.plain;
    const common = {
      expires: terms.expires,
      meta: terms.binding,
      externalId: terms.externalId,
    };
    const entries = this.accepted
      .filter((method) => terms.amountCents >= method.facts.minimumChargeCents)
      .map((method) => [method.facts.key, { ...common, ...method.offer(terms) }] as const);
    const presented = this.readCredential(request, terms.authorizationTaken).kind !== 'none';
    const result = await mppx.compose(...(entries as never[]))(request);
    if (result.status === 402) {
      const response = result.challenge as Response;
      const status = response.status === 400 ? 400 : response.status >= 500 ? 502 : 402;
      const challengeHeaders = new Headers();
      const challenge = response.headers.get('www-authenticate');
      if (challenge) challengeHeaders.set('www-authenticate', challenge);
      const reason = presented
        ? await problemDetail(response)
        : emptyCredentialReason(request, terms.authorizationTaken === true);
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
