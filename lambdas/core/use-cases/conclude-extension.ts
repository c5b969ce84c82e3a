import { ApiProblem } from '../errors.js';
import { type ExtensionRecord, type MachineRecord, planExtension } from '../machine.js';
import type { PaymentAttempt, PaymentRecord, RefundRecord } from '../payment-records.js';
import type { Storefront } from './storefront.js';

export type PaidExtension = NonNullable<PaymentAttempt['extension']>;

export type ExtensionConclusion =
  | { kind: 'applied'; machine: MachineRecord; extension: ExtensionRecord }
  | { kind: 'refund_due'; extension: ExtensionRecord; refund?: RefundRecord };

/** The one idempotency key of an extension's refund, wherever it is refunded from. */
export const extensionRefundKey = (machineId: string, extensionKey: string) =>
  `refund-${machineId}-${extensionKey}`;

/**
 * Turns a taken extension payment into an applied extension, or, when the lease can no longer
 * take it (it ended, or changed since the challenge was issued), into an extension owed back:
 * either way one write on the machine, which also concludes the payment attempt.
 */
export async function concludePaidExtension(
  storefront: Storefront,
  machineId: string,
  paid: PaidExtension,
  payment: PaymentRecord,
  amountCents: number,
  attemptKey: string | undefined,
): Promise<ExtensionConclusion> {
  const { machines, settings, clock, log } = storefront;
  const now = clock.now();
  const extension: ExtensionRecord = {
    machine_id: machineId,
    extension_key: paid.extension_key,
    additional_minutes: paid.additional_minutes,
    lease_minutes_after: paid.lease_minutes_before + paid.additional_minutes,
    applied_at: now.toISOString(),
    payment,
    amount_cents: amountCents,
  };
  const current = await machines.get(machineId, new Date(0));
  const plan = current && planIfStillPossible(current, settings, paid, now);
  const applied = plan && (await machines.applyExtension(machineId, plan, extension, attemptKey));
  if (applied) {
    // The held workflow re-arms at the new end and tells the machine (best effort: the lease
    // record stays the truth, and a workflow not holding now finds the new end itself).
    await storefront.leases
      .extensionApplied(applied)
      .catch((error: unknown) =>
        log.warn('lease.extension_wake_failed', { machine_id: machineId, error: String(error) }),
      );
    log.info('lease.extended', {
      machine_id: machineId,
      lease_minutes: applied.lease_minutes,
      method: payment.method,
      amount_cents: amountCents,
    });
    return { kind: 'applied', machine: applied, extension };
  }
  const owed: ExtensionRecord = {
    ...extension,
    refund_due: true,
    refund_due_since: now.toISOString(),
  };
  const recorded = await machines.recordUnappliedExtension(owed, now.toISOString(), attemptKey);
  if (!recorded) {
    // Recorded already, by an earlier run of this same conclusion: report what is stored.
    const stored = await machines.getExtension(machineId, paid.extension_key);
    if (stored && !stored.refund_due && !stored.refund && current) {
      return { kind: 'applied', machine: current, extension: stored };
    }
    return { kind: 'refund_due', extension: stored ?? owed };
  }
  log.warn('lease.extension_not_applied', { machine_id: machineId, key: paid.extension_key });
  const refund = await refundExtension(storefront, owed);
  return { kind: 'refund_due', extension: owed, ...(refund ? { refund } : {}) };
}

function planIfStillPossible(
  machine: MachineRecord,
  settings: Storefront['settings'],
  paid: PaidExtension,
  now: Date,
) {
  if (machine.lease_minutes !== paid.lease_minutes_before) return undefined;
  try {
    return planExtension(
      machine,
      settings.catalog[machine.product_id],
      paid.additional_minutes,
      now,
    );
  } catch {
    return undefined;
  }
}

/**
 * Gives an extension's payment back and records it; an error leaves `refund_due` in place
 * for the sweeper, which retries until the provider confirms.
 */
export async function refundExtension(
  storefront: Pick<Storefront, 'refunds' | 'machines' | 'log'>,
  extension: ExtensionRecord,
  reason = 'the lease changed while the extension was being paid',
): Promise<RefundRecord | undefined> {
  const { refunds, machines, log } = storefront;
  if (!extension.payment || !extension.amount_cents) return undefined;
  try {
    const refund = await refunds.refund({
      payment: extension.payment,
      amountCents: extension.amount_cents,
      idempotencyKey: extensionRefundKey(extension.machine_id, extension.extension_key),
      reason,
    });
    if (!refund) return undefined;
    await machines.recordExtensionRefund(extension.machine_id, extension.extension_key, refund);
    log.warn('lease.extension_refunded', {
      machine_id: extension.machine_id,
      reference: refund.reference,
      status: refund.status,
    });
    return refund;
  } catch (error) {
    log.error('lease.extension_refund_failed', {
      machine_id: extension.machine_id,
      payment_reference: extension.payment.reference,
      error: String(error),
    });
    return undefined;
  }
}

/**
 * Concludes the extension attempts an earlier request recorded and never finished (see
 * finishEarlierAttempts for orders), under the machine's extension lock.
 * Returns what each concluded attempt came to.
 */
export async function finishEarlierExtensionAttempts(
  storefront: Storefront,
  machine: MachineRecord,
  lockOwner: string,
): Promise<ExtensionConclusion[]> {
  const { machines, payments, log } = storefront;
  const concluded: ExtensionConclusion[] = [];
  for (const attempt of Object.values(machine.extension_attempts ?? {})) {
    if (attempt.owner === lockOwner) continue;
    const recovery = await payments.recover(attempt);
    log.info('lease.extension_attempt_recovered', {
      machine_id: machine.machine_id,
      challenge_id: attempt.challenge_id,
      outcome: recovery.kind,
    });
    if (recovery.kind === 'charged' && attempt.extension) {
      concluded.push(
        await concludePaidExtension(
          storefront,
          machine.machine_id,
          attempt.extension,
          recovery.payment,
          attempt.amount_cents,
          attempt.key,
        ),
      );
      continue;
    }
    if (recovery.kind !== 'unknown') {
      await machines.forgetExtensionAttempt(machine.machine_id, lockOwner, attempt.key);
      continue;
    }
    await machines.releaseExtensionLock(machine.machine_id, lockOwner);
    throw new ApiProblem(
      'payment_in_progress',
      'an earlier extension payment for this machine is still being confirmed with the payment provider; retry the same request in a minute (it will not be charged twice)',
    );
  }
  return concluded;
}
