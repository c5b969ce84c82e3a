import type { MachineRecord } from './machine.js';
import type { OrderRecord, PaymentRecord } from './order.js';
import type { Product } from './products.js';

/**
 * What the use cases need from the outside world. Adapters implement these against
 * DynamoDB, mppx, Step Functions (or their local stand-ins); the core never sees them.
 * Every mutating method is a conditional single-item write: it either happens exactly
 * as described or reports that the item was not in the expected state.
 */
export interface OrderStore {
  /** The order, or undefined if unknown or an unpaid order past its expiry. */
  get(orderId: string, now: Date): Promise<OrderRecord | undefined>;
  /** Stores a new unpaid order unless a live one exists; returns whichever is stored. */
  open(order: OrderRecord, now: Date): Promise<OrderRecord>;
  /** Moves the challenge expiry forward if it still holds `from`. */
  renewChallenge(orderId: string, from: string, to: string): Promise<boolean>;
  /** Claims the right to charge this order until `until`; false if already settled or claimed. */
  lockForPayment(orderId: string, owner: string, until: Date, now: Date): Promise<boolean>;
  releasePaymentLock(orderId: string, owner: string): Promise<void>;
  /**
   * unpaid → settled, recording the payment and the machine id; returns the settled order,
   * or undefined if it was no longer unpaid. Not conditional on the payment lock: money that
   * was taken must always settle the order.
   */
  settle(
    orderId: string,
    settlement: { payment: PaymentRecord; machineId: string; settledAt: string },
  ): Promise<OrderRecord | undefined>;
  /** Records a refund of the order's payment, once; false if one is already recorded. */
  recordRefund(orderId: string, refund: RefundRecord): Promise<boolean>;
}

export interface ExtensionRecord {
  machine_id: string;
  /** The agent's request_id, or the payment challenge id when none was sent. */
  extension_key: string;
  additional_minutes: number;
  lease_minutes_after: number;
  applied_at: string;
  payment?: PaymentRecord;
  amount_cents?: number;
  /** Set when a payment succeeded but the lease could no longer be extended: owed back to the agent. */
  refund_due?: boolean;
  refund?: RefundRecord;
}

/** Money given back: a failed lease's order and extensions, or an extension that could not apply. */
export interface RefundRecord {
  status: 'refunded' | 'pending';
  amount_cents: number;
  /** The provider's refund id (Stripe re_…), or a test reference. */
  reference: string;
  refunded_at: string;
}

export interface RefundGateway {
  /**
   * Returns the money `payment` took; the same idempotency key never refunds twice.
   * Undefined when the payment moved no money (the unpaid create).
   */
  refund(input: {
    payment: PaymentRecord;
    amountCents: number;
    idempotencyKey: string;
    reason: string;
  }): Promise<RefundRecord | undefined>;
}

export interface MachineStore {
  get(machineId: string, now: Date): Promise<MachineRecord | undefined>;
  /** Stores a new machine unless one with that id exists; returns whichever is stored. */
  create(machine: MachineRecord): Promise<MachineRecord>;
  /** Adds minutes if the lease still has `leaseMinutesBefore` and is provisioning or active. */
  extend(
    machineId: string,
    plan: { leaseMinutesBefore: number; leaseMinutes: number; expiresAt: string },
  ): Promise<MachineRecord | undefined>;
  /** provisioning|active → terminating; returns the updated machine, or undefined if not live. */
  requestTermination(machineId: string, now: Date): Promise<MachineRecord | undefined>;
  lockForExtension(machineId: string, owner: string, until: Date, now: Date): Promise<boolean>;
  releaseExtensionLock(machineId: string, owner: string): Promise<void>;
  getExtension(machineId: string, extensionKey: string): Promise<ExtensionRecord | undefined>;
  recordExtension(extension: ExtensionRecord): Promise<void>;
  listExtensions(machineId: string): Promise<ExtensionRecord[]>;
  /** Records a refund of an extension's payment, once; false if one is already recorded. */
  recordExtensionRefund(
    machineId: string,
    extensionKey: string,
    refund: RefundRecord,
  ): Promise<boolean>;
}

/** The lease's lifecycle runner: one workflow per machine. */
export interface LeaseWorkflow {
  /** Starts the machine's workflow; calling it again for the same machine does nothing. */
  start(machine: MachineRecord): Promise<void>;
  /** Tells a running workflow that its lease was terminated early, so it acts now. */
  terminationRequested(machine: MachineRecord): Promise<void>;
}

export interface ChargeTerms {
  amountCents: number;
  description: string;
  /** Our reference for the payment (the order id). */
  externalId: string;
  expires: string;
  /** Values the credential must have been issued for; a credential for other values is refused. */
  binding: Record<string, string>;
  /** The capability token travels in Authorization, so the credential must use Payment-Authorization. */
  authorizationTaken?: boolean;
}

export type ChargeOutcome =
  | { kind: 'paid'; payment: PaymentRecord & { receipt_header: string } }
  | {
      kind: 'refused';
      /** 402 when payment is (still) required, 400 for a malformed request, 502 when verification broke. */
      status: 402 | 400 | 502;
      /** WWW-Authenticate challenge(s) to send back. */
      challengeHeaders: Headers;
      /** Why a presented credential was not accepted; undefined when none was presented. */
      reason?: string;
    };

export interface PaymentGateway {
  /** `name/intent` of each accepted method, e.g. `stripe/charge`. */
  readonly methods: readonly string[];
  /** The smallest amount every configured method can charge (card networks have minimums). */
  readonly minimumChargeCents: number;
  /** Verifies the request's credential against the terms, or answers with challenges. */
  charge(request: Request, terms: ChargeTerms): Promise<ChargeOutcome>;
  credentialPresented(request: Request): boolean;
}

export interface Clock {
  now(): Date;
}

export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/** Whether a product can be launched now; when not, why and when to ask again. */
export type Availability =
  | {
      available: true;
      /** What was verified (quota, zone offerings, reserved capacity); empty when nothing could be. */
      checked: string[];
    }
  | { available: false; reason: string; retryAfterSeconds: number };

/** Can the account launch this product's instance now (quotas, zones, reserved capacity)? */
export interface CapacityCheck {
  check(product: Product, leaseMinutes: number): Promise<Availability>;
}

/** Tells a leased machine when its lease ends (it reads an instance tag through IMDS). */
export interface LeaseDeadlines {
  /**
   * Best effort: the lease's record stays the truth and the workflow ends the lease on time
   * whatever the machine believes; a failure is logged, never thrown.
   */
  publish(machine: MachineRecord): Promise<void>;
}
