import type { ManagementTokens, TokenRecord } from './capability-tokens.js';
import { invalidRequest } from './errors.js';
import type { PaymentAttempt, PaymentRecord, RefundRecord } from './payment-records.js';
import type { Product, ProductId } from './products.js';

export const MACHINE_STATUSES = [
  'provisioning',
  'active',
  'terminating',
  'terminated',
  'failed',
] as const;
export type MachineStatus = (typeof MACHINE_STATUSES)[number];

/** What an operator (or the abuse detector) gives back when ending a lease for cause. */
export const CAUSE_REFUNDS = ['none', 'unused', 'full'] as const;
export type CauseRefundMode = (typeof CAUSE_REFUNDS)[number];

/** Why and by whom a lease was ended; stored on the machine in the write that ends it. */
export interface LeaseEndCause {
  reason: string;
  refund: CauseRefundMode;
  ended_by: string;
  ended_at: string;
}

/**
 * One payment's share of a for-cause refund, fixed in the write that ends the lease, so that
 * however often the refund is retried (sweeper, crash, rerun) it is this amount, once: its
 * idempotency key is the machine and the payment it refunds.
 */
export interface CauseRefund {
  payment: PaymentRecord;
  amount_cents: number;
  /** Set once the provider answered; `pending` is asked again until it settles. */
  refund?: RefundRecord;
}

/** Who paid: machines created through the unpaid endpoint are extended without payment. */
export type Billing = 'paid' | 'unpaid';

export interface MachineRecord extends TokenRecord {
  machine_id: string;
  product_id: ProductId;
  status: MachineStatus;
  billing: Billing;
  order_id: string;
  ssh_public_key: string;
  username: string;
  provider: string;
  host: string | null;
  ssh_port: number;
  instance_id?: string;
  created_at: string;
  /** Paid minutes, extensions included; the clock starts when the machine becomes active. */
  lease_minutes: number;
  /** Provisional (created_at + lease_minutes) until the machine is active, then the real end. */
  expires_at: string;
  activated_at?: string;
  termination_requested_at?: string;
  terminated_at?: string;
  failure_reason?: string;
  /** Provisioning that has not finished by then ends as failed. */
  provision_deadline: string;
  /** The lease can never run past this instant (the end of a Capacity Block, for instance). */
  hard_stop_at?: string;
  /**
   * Internal: true from the moment a lease fails (its payments are owed back) until every
   * payment is refunded; a sweeper retries leases that still carry it.
   */
  refund_due?: boolean;
  /** Internal: why the last refund attempt of a `refund_due` lease failed. */
  refund_error?: string;
  /**
   * Internal: wakes the lease workflow (a Step Functions task token): the wait for the
   * machine's readiness callback while provisioning, then the hold until the lease's end.
   * Never shown.
   */
  wake_token?: string;
  /** Internal: SHA-256 of the machine's one-time readiness secret (set at launch). */
  ready_secret_hash?: string;
  /** Paid extensions by key, applied or owed back; stored on the machine so one write changes both. */
  extensions?: Record<string, ExtensionRecord>;
  /** Extension credentials being charged and not yet concluded, by attempt key. */
  extension_attempts?: Record<string, PaymentAttempt>;
  /**
   * The unused minutes of a lease terminated early, owed back: decided in the same write that
   * marks the lease terminating, refunded once under one key (`unusedMinutesRefundKey`).
   */
  unused_refund?: UnusedMinutesRefund;
  /** Set when the lease was ended for cause (an operator, or an abuse finding); never cleared. */
  end_cause?: LeaseEndCause;
  /** The for-cause refund, by payment, fixed in the write that ended the lease (end-for-cause.ts). */
  cause_refunds?: Record<string, CauseRefund>;
}

/** What an early termination gives back: whole unused minutes at the product's per-minute price. */
export interface UnusedMinutesRefund {
  minutes: number;
  amount_cents: number;
  /** When the lease was terminated (for the alarm on refunds owed too long). */
  due_since: string;
  /** Set once the provider answered: `pending` until it confirms, then `refunded`. */
  refund?: RefundRecord;
}

/** The one idempotency key of a lease's unused-minutes refund. */
export const unusedMinutesRefundKey = (machineId: string) => `refund-unused-${machineId}`;

/** A paid extension of a lease, applied or owed back; kept on the machine it extends. */
export interface ExtensionRecord {
  machine_id: string;
  /** The agent's request_id, or `challenge-<id>` of the paying credential when none was sent. */
  extension_key: string;
  additional_minutes: number;
  lease_minutes_after: number;
  applied_at: string;
  payment?: PaymentRecord;
  amount_cents?: number;
  /** Set when a payment succeeded but the lease could no longer be extended: owed back to the agent. */
  refund_due?: boolean;
  /** When the refund fell due, for the alarm on refunds owed too long. */
  refund_due_since?: string;
  refund?: RefundRecord;
}

export interface MachineView {
  machine_id: string;
  product: ProductId;
  provider: string;
  status: MachineStatus;
  host: string | null;
  username: string;
  ssh_command?: string;
  created_at: string;
  expires_at: string;
  lease_minutes: number;
  activated_at?: string;
  terminated_at?: string;
  failure_reason?: string;
  seconds_left?: number;
  /**
   * Whether the lease clock runs: it starts when the machine becomes active. While it has not
   * started, `expires_at` is provisional (created_at + lease_minutes) and activation sets it to
   * activated_at + lease_minutes.
   */
  lease_clock?: LeaseClockState;
  /** The unused minutes given back after an early termination. */
  refund?: { amount_cents: number; status: 'pending' | 'refunded' };
}

export type LeaseClockState = 'not_started' | 'running' | 'stopped';

export const leaseClockState = (status: MachineStatus): LeaseClockState =>
  status === 'provisioning' ? 'not_started' : status === 'active' ? 'running' : 'stopped';

export type MachineWithManagement = MachineView & { management: ManagementTokens };

const addMinutes = (iso: string, minutes: number) =>
  new Date(Date.parse(iso) + minutes * 60_000).toISOString();

export function sshCommand(username: string, host: string, port: number): string {
  return port === 22 ? `ssh ${username}@${host}` : `ssh -p ${port} ${username}@${host}`;
}

/**
 * Time left on the lease: all of it while provisioning (the clock starts at activation),
 * none once it has ended.
 */
export function secondsLeft(machine: MachineRecord, now: Date): number {
  if (machine.status === 'provisioning') return machine.lease_minutes * 60;
  if (machine.status !== 'active') return 0;
  return Math.max(0, Math.ceil((Date.parse(machine.expires_at) - now.getTime()) / 1000));
}

const isLive = (status: MachineStatus) => status === 'provisioning' || status === 'active';

/** The agent's view of a lease, with the seconds left on it at `now`. */
export function toMachineView(machine: MachineRecord, now: Date): MachineView {
  // An ended lease's address is released: neither it nor a login command is shown.
  const host = isLive(machine.status) ? machine.host : null;
  return {
    machine_id: machine.machine_id,
    product: machine.product_id,
    provider: machine.provider,
    status: machine.status,
    host,
    username: machine.username,
    ...(host ? { ssh_command: sshCommand(machine.username, host, machine.ssh_port) } : {}),
    created_at: machine.created_at,
    expires_at: machine.expires_at,
    lease_minutes: machine.lease_minutes,
    ...(machine.activated_at ? { activated_at: machine.activated_at } : {}),
    ...(machine.terminated_at ? { terminated_at: machine.terminated_at } : {}),
    ...(machine.failure_reason ? { failure_reason: machine.failure_reason } : {}),
    seconds_left: secondsLeft(machine, now),
    lease_clock: leaseClockState(machine.status),
    ...(machine.unused_refund
      ? {
          refund: {
            amount_cents: machine.unused_refund.amount_cents,
            status: machine.unused_refund.refund?.status === 'refunded' ? 'refunded' : 'pending',
          },
        }
      : {}),
  };
}

/** Minutes bought by applied extensions (those owed back never extended the lease). */
export function extensionMinutes(machine: MachineRecord): number {
  return Object.values(machine.extensions ?? {})
    .filter((extension) => !extension.refund_due && !extension.refund)
    .reduce((sum, extension) => sum + extension.additional_minutes, 0);
}

/**
 * What terminating the lease now gives back: its unused whole minutes at the product's
 * per-minute price, from the lease's purchase. Kept: the base fee, the product's minimum lease
 * (`minMinutes`), every minute used or started, and the minutes bought by extensions (the last
 * minutes of a lease, so they are the first unused ones; each extension paid its own
 * processing fee). Nothing for an unpaid machine or a lease that is not live. All minutes are
 * unused while provisioning: the clock has not started.
 */
export function unusedMinutesRefund(
  machine: MachineRecord,
  product: Product,
  now: Date,
): { minutes: number; amount_cents: number } | undefined {
  if (machine.billing !== 'paid') return undefined;
  let unused: number;
  if (machine.status === 'provisioning') unused = machine.lease_minutes;
  else if (machine.status === 'active') {
    unused = Math.floor((Date.parse(machine.expires_at) - now.getTime()) / 60_000);
  } else return undefined;
  const extended = extensionMinutes(machine);
  const purchased = machine.lease_minutes - extended;
  const minutes = Math.min(unused - extended, purchased - product.minMinutes, purchased);
  if (!(minutes > 0)) return undefined;
  return { minutes, amount_cents: minutes * product.centsPerMinute };
}

export interface NewMachine {
  machineId: string;
  orderId: string;
  product: Product;
  billing: Billing;
  leaseMinutes: number;
  sshPublicKey: string;
  provider: string;
  tokens: TokenRecord;
  now: Date;
  provisioningTimeoutMinutes: number;
}

/** The machine's readiness callback: the one operation it calls itself. */
export const readyUrl = (publicBaseUrl: string, machineId: string) =>
  `${publicBaseUrl.replace(/\/+$/, '')}/api/machines/${machineId}/ready`;

export function newMachineRecord(input: NewMachine): MachineRecord {
  const createdAt = input.now.toISOString();
  return {
    machine_id: input.machineId,
    product_id: input.product.id,
    status: 'provisioning',
    billing: input.billing,
    order_id: input.orderId,
    ssh_public_key: input.sshPublicKey,
    username: input.product.username,
    provider: input.provider,
    host: null,
    ssh_port: 22,
    created_at: createdAt,
    lease_minutes: input.leaseMinutes,
    expires_at: addMinutes(createdAt, input.leaseMinutes),
    provision_deadline: addMinutes(createdAt, input.provisioningTimeoutMinutes),
    ...input.tokens,
  };
}

/** The lease clock starts when the machine is usable, so slow provisioning costs the agent nothing. */
export function leaseEndFromActivation(machine: MachineRecord, activatedAt: Date): string {
  const end = addMinutes(activatedAt.toISOString(), machine.lease_minutes);
  return machine.hard_stop_at && machine.hard_stop_at < end ? machine.hard_stop_at : end;
}

export interface ExtensionPlan {
  leaseMinutesBefore: number;
  leaseMinutes: number;
  expiresAt: string;
}

/** Checks an extension against the lease's state and the product's maximum total lease. */
export function planExtension(
  machine: MachineRecord,
  product: Product,
  additionalMinutes: number,
  now: Date,
): ExtensionPlan {
  if (machine.status !== 'provisioning' && machine.status !== 'active') {
    throw invalidRequest(
      `machine is ${machine.status}; only a provisioning or active machine can be extended`,
    );
  }
  if (machine.status === 'active' && Date.parse(machine.expires_at) <= now.getTime()) {
    throw invalidRequest('the lease has already ended; it can no longer be extended');
  }
  if (additionalMinutes < product.minExtensionMinutes) {
    throw invalidRequest(
      `additional_minutes must be at least ${product.minExtensionMinutes} for ${product.id}`,
    );
  }
  const total = machine.lease_minutes + additionalMinutes;
  if (total > product.maxMinutes) {
    const room = product.maxMinutes - machine.lease_minutes;
    throw invalidRequest(
      `additional_minutes would bring the lease to ${total} minutes; ${product.id} leases are limited to ${product.maxMinutes} minutes in total (at most ${room} more)`,
    );
  }
  const expiresAt = addMinutes(machine.expires_at, additionalMinutes);
  if (machine.hard_stop_at && expiresAt > machine.hard_stop_at) {
    throw invalidRequest(
      `additional_minutes would run the lease past ${machine.hard_stop_at}, when its reserved capacity ends`,
    );
  }
  return { leaseMinutesBefore: machine.lease_minutes, leaseMinutes: total, expiresAt };
}

/** Where a lease's clock stands, as the workflow's hold reads it. */
export interface LeaseClock {
  /** The lease has ended (its time is up, or it was terminated early). */
  due: boolean;
  /**
   * Whole seconds until the lease ends, rounded up (a Task state's timeout is whole seconds,
   * so the hold wakes at the end or less than a second after it, never before); at least 1.
   */
  seconds_remaining: number;
  expires_at?: string;
}

export function leaseClock(expiresAt: string, now: Date, active: boolean): LeaseClock {
  const remaining = Math.ceil((Date.parse(expiresAt) - now.getTime()) / 1000);
  return {
    due: !active || remaining <= 0,
    seconds_remaining: Math.max(1, remaining),
    expires_at: expiresAt,
  };
}
