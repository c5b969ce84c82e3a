import type { BlockKind, BlockRecord, BuyerSubject } from './blocks.js';
import type {
  CauseRefund,
  ExtensionRecord,
  LeaseClock,
  LeaseEndCause,
  MachineRecord,
  UnusedMinutesRefund,
} from './machine.js';
import type { OrderRecord } from './order.js';
import type {
  DuplicatePayment,
  PaymentAttempt,
  PaymentRecord,
  RefundRecord,
} from './payment-records.js';
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
  /**
   * Stores a new unpaid order unless one is stored that is live, or expired with a payment
   * under way or unresolved on it; returns whichever is stored.
   */
  open(order: OrderRecord, now: Date): Promise<OrderRecord>;
  /** Moves the challenge expiry forward if it still holds `from`. */
  renewChallenge(orderId: string, from: string, to: string): Promise<boolean>;
  /**
   * Claims the right to charge this order until `until` and, in the same write, records the
   * attempt about to be charged (kept if that credential was already recorded). Returns the
   * order as it now stands, or undefined if it is settled or another holder has the lock.
   */
  lockForPayment(
    orderId: string,
    owner: string,
    until: Date,
    now: Date,
    attempt?: PaymentAttempt,
  ): Promise<OrderRecord | undefined>;
  /** Releases the lock; forgets `attemptKey` too when that attempt certainly took no money. */
  releasePaymentLock(orderId: string, owner: string, attemptKey?: string): Promise<void>;
  /** Forgets an attempt found to have taken no money (only by the lock's holder). */
  forgetAttempt(orderId: string, owner: string, attemptKey: string): Promise<void>;
  /**
   * unpaid → settled, recording the payment and the machine id; returns the settled order,
   * or undefined if it was no longer unpaid. Not conditional on the payment lock: money that
   * was taken must always settle the order. It clears the recorded attempts and asks the
   * sweeper to check that the order's machine runs (at `checkAt`, unless already listed).
   */
  settle(
    orderId: string,
    settlement: { payment: PaymentRecord; machineId: string; settledAt: string; checkAt: string },
  ): Promise<OrderRecord | undefined>;
  /** Records a refund of the order's payment, once; false if one is already recorded. */
  recordRefund(orderId: string, refund: RefundRecord): Promise<boolean>;
  /** Records a second payment for a settled order, owed back, and lists the order for the sweeper. */
  recordDuplicatePayment(
    orderId: string,
    duplicate: DuplicatePayment,
    checkAt: string,
  ): Promise<void>;
  /** Records the refund of a duplicate payment (replacing a `pending` one). */
  recordDuplicateRefund(orderId: string, reference: string, refund: RefundRecord): Promise<void>;
  /** Replaces a `pending` refund with what the provider now reports. */
  updatePendingRefund(orderId: string, refund: RefundRecord): Promise<boolean>;
  /** Orders the sweeper should look at again by `now` (payment attempts, settled orders). */
  dueForSweep(now: Date, limit: number): Promise<OrderRecord[]>;
  /** Next look at `checkAt`. */
  scheduleSweep(orderId: string, checkAt: string): Promise<void>;
  /** Takes the order off the sweeper's list, unless a payment attempt is recorded meanwhile. */
  closeSweep(orderId: string): Promise<void>;
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
  /**
   * provisioning or active → terminating for cause, once: records why, the failure_reason the
   * agent reads and the refund plan (which puts the machine on the sweeper's list when it
   * refunds anything), in one conditional write. Undefined when the lease was not live or
   * was ended for cause already.
   */
  endForCause(
    machineId: string,
    end: {
      cause: LeaseEndCause;
      failureReason: string;
      refunds: Record<string, CauseRefund>;
      now: Date;
    },
  ): Promise<MachineRecord | undefined>;
  /** Records the provider's answer to one for-cause refund (again while it is pending). */
  recordCauseRefund(machineId: string, key: string, refund: RefundRecord): Promise<boolean>;
  /** Stores a new machine unless one with that id exists; returns whichever is stored. */
  create(machine: MachineRecord): Promise<MachineRecord>;
  /**
   * Adds the minutes and records the extension in one conditional write on the machine, so a
   * crash cannot separate them: only if the lease still has `leaseMinutesBefore`, is
   * provisioning or active, and has no extension with that key. Undefined otherwise.
   */
  applyExtension(
    machineId: string,
    plan: { leaseMinutesBefore: number; leaseMinutes: number; expiresAt: string },
    extension: ExtensionRecord,
    /** The payment attempt this concludes, removed in the same write. */
    concludedAttempt?: string,
  ): Promise<MachineRecord | undefined>;
  /**
   * Records a paid extension that could not apply, with `refund_due`, and puts the machine on
   * the sweeper's list, in one write; false if an extension with that key is recorded already.
   */
  recordUnappliedExtension(
    extension: ExtensionRecord,
    checkAt: string,
    concludedAttempt?: string,
  ): Promise<boolean>;
  /**
   * provisioning → active on the machine's own ready report, only if `readySecretHash` is the
   * hash stored at launch; returns the active machine, or undefined if either does not hold.
   */
  activateOnReadiness(
    machineId: string,
    change: {
      host: string;
      readySecretHash: string;
      activatedAt: string;
      expiresAt: string;
      leaseMinutes: number;
    },
  ): Promise<MachineRecord | undefined>;
  /**
   * provisioning|active → terminating; returns the updated machine, or undefined if not live.
   * With `refund`, only if the lease still has the status, length and end the refund was
   * computed from; the refund owed is recorded and the machine listed for the sweeper at
   * `checkAt`, in the same write.
   */
  requestTermination(
    machineId: string,
    now: Date,
    refund?: {
      basis: Pick<MachineRecord, 'status' | 'lease_minutes' | 'expires_at'>;
      owed: UnusedMinutesRefund;
      checkAt: string;
    },
  ): Promise<MachineRecord | undefined>;
  /** Records what the provider answered for the unused-minutes refund, unless already refunded. */
  recordUnusedRefund(machineId: string, refund: RefundRecord): Promise<boolean>;
  /**
   * Claims the right to charge an extension of this machine and records the attempt in the
   * same write (see OrderStore.lockForPayment). Undefined if another holder has the lock.
   */
  lockForExtension(
    machineId: string,
    owner: string,
    until: Date,
    now: Date,
    attempt?: PaymentAttempt,
  ): Promise<MachineRecord | undefined>;
  releaseExtensionLock(machineId: string, owner: string, attemptKey?: string): Promise<void>;
  forgetExtensionAttempt(machineId: string, owner: string, attemptKey: string): Promise<void>;
  getExtension(machineId: string, extensionKey: string): Promise<ExtensionRecord | undefined>;
  listExtensions(machineId: string): Promise<ExtensionRecord[]>;
  /** Records a refund of an extension's payment, once; false if one is already recorded. */
  recordExtensionRefund(
    machineId: string,
    extensionKey: string,
    refund: RefundRecord,
  ): Promise<boolean>;
  /** Machines the sweeper should look at by `now` (extension attempts, refunds owed). */
  dueForSweep(now: Date, limit: number): Promise<MachineRecord[]>;
  scheduleSweep(machineId: string, checkAt: string): Promise<void>;
  /** Takes the machine off the sweeper's list, unless an extension attempt is recorded meanwhile. */
  closeSweep(machineId: string): Promise<void>;
}

/** The lease's lifecycle runner: one workflow per machine. */
export interface LeaseWorkflow {
  /** Starts the machine's workflow; calling it again for the same machine does nothing. */
  start(machine: MachineRecord): Promise<void>;
  /** Tells a running workflow that its lease was terminated early, so it acts now. */
  terminationRequested(machine: MachineRecord): Promise<void>;
  /**
   * Tells a running workflow that its lease was extended, so it re-arms at the new end and
   * tells the machine (best effort: a workflow that is not holding finds the new end itself).
   */
  extensionApplied(machine: MachineRecord): Promise<void>;
  /**
   * Tells the workflow waiting on the launch that the machine reported ready and its lease is
   * active (already written): it goes on to hold until `clock` runs out. Best effort: a
   * workflow no longer waiting finds the lease active when it polls.
   */
  readinessReported(machine: MachineRecord, clock: LeaseClock): Promise<void>;
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
      /**
       * The method could not say whether money moved (a lost Stripe response, a PaymentIntent
       * still processing): the attempt must stay recorded until it is recovered.
       */
      outcomeUnknown?: boolean;
    };

/** The payment credential of a request, read as mppx reads it. */
export type PresentedCredential =
  | { kind: 'none' }
  /** Something in the Payment scheme that is not a credential: mppx will refuse it. */
  | { kind: 'unreadable' }
  | {
      kind: 'credential';
      challengeId: string;
      method: string;
      digest: string;
      /** When the challenge it answers expires, as the challenge says (ISO 8601). */
      expires?: string;
    };

/** What became of a payment attempt whose answer was lost. */
export type AttemptRecovery =
  | { kind: 'charged'; payment: PaymentRecord & { receipt_header: string } }
  | { kind: 'not_charged' }
  /** The provider cannot tell yet (a PaymentIntent in `processing`, search not yet current). */
  | { kind: 'unknown'; reason: string };

export interface PaymentGateway {
  /** `name/intent` of each accepted method, e.g. `stripe/charge`. */
  readonly methods: readonly string[];
  /** The smallest amount every configured method can charge (card networks have minimums). */
  readonly minimumChargeCents: number;
  /** Verifies the request's credential against the terms, or answers with challenges. */
  charge(request: Request, terms: ChargeTerms): Promise<ChargeOutcome>;
  /** Fresh challenges for the terms, whatever credential the request carries; nothing is charged. */
  challenge(
    request: Request,
    terms: ChargeTerms,
    reason: string,
  ): Promise<Extract<ChargeOutcome, { kind: 'refused' }>>;
  /** The credential in the header mppx reads for these terms (`Payment-Authorization` when taken). */
  readCredential(request: Request, authorizationTaken?: boolean): PresentedCredential;
  /** Asks the method that took (or did not take) the money what an attempt came to. */
  recover(attempt: PaymentAttempt): Promise<AttemptRecovery>;
}

/** Where a launched instance can be reached, as EC2 itself reports it. */
export interface InstanceAddresses {
  /** The instance's public IPv4 address; undefined while EC2 lists none (yet). */
  publicAddress(instanceId: string): Promise<string | undefined>;
}

/** Whether the machine's SSH server is up and announces that the machine is ready. */
export type SshProbe = (host: string, port: number) => Promise<boolean>;

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

/** The live leases one SSH key holds (by its `<type> <base64>`, whatever the comment). */
export type LiveLeasesOfKey = (
  sshPublicKey: string,
) => Promise<{ machine_id: string; product_id: string }[]>;

/** Blocks as data (lambdas/core/blocks.ts): read before any sale, written by the operator. */
export interface BlockStore {
  /** The blocks that could cover this buyer, expired ones included (the caller decides). */
  candidatesFor(subject: BuyerSubject): Promise<BlockRecord[]>;
  /** Adds or replaces the block of this kind and value. */
  put(block: BlockRecord): Promise<void>;
  /** Removes a block; false when there was none. */
  remove(kind: BlockKind, value: string): Promise<boolean>;
  list(): Promise<BlockRecord[]>;
}

/** Tells a leased machine when its lease ends (it reads an instance tag through IMDS). */
export interface LeaseDeadlines {
  /**
   * Best effort: the lease's record stays the truth and the workflow ends the lease on time
   * whatever the machine believes; a failure is logged, never thrown.
   */
  publish(machine: MachineRecord): Promise<void>;
}
