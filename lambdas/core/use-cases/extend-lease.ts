import { randomUUID } from 'node:crypto';
import { answersExpiredChallenge, expiredChallengeReason } from '../challenge-expiry.js';
import { ApiProblem, conflict, invalidRequest } from '../errors.js';
import {
  type ExtensionRecord,
  type MachineRecord,
  type MachineView,
  planExtension,
  toMachineView,
} from '../machine.js';
import type { ChargeOutcome } from '../ports.js';
import { type ExtensionQuote, formatCents, quoteExtension } from '../pricing.js';
import { parseExtendMachineRequest } from '../requests.js';
import { authorizeMachine } from './authorize-machine.js';
import {
  concludePaidExtension,
  type ExtensionConclusion,
  finishEarlierExtensionAttempts,
} from './conclude-extension.js';
import { attemptFor } from './settle-payment.js';
import type { Storefront } from './storefront.js';

export type ExtendLeaseOutcome =
  | { kind: 'extended'; machine: MachineView; receiptHeader?: string }
  | {
      kind: 'payment_required';
      machine: MachineRecord;
      quote: ExtensionQuote;
      refusal: Extract<ChargeOutcome, { kind: 'refused' }>;
    };

/**
 * POST /api/machines/{id}/extend. Extra minutes of a paid lease are paid for like the
 * lease itself (402 → credential → 200 with a receipt). The challenge is bound to the
 * lease's current length, so one payment can extend the lease only once; a request_id
 * makes a retried extension report what became of the first (applied, or refunded) instead
 * of charging again. The new end and the extension's record are one write on the machine.
 */
export async function extendLease(
  storefront: Storefront,
  httpRequest: Request,
  machineId: string,
  authorization: string | undefined,
  body: unknown,
): Promise<ExtendLeaseOutcome> {
  const { settings, machines, payments, clock, log } = storefront;
  const machine = await authorizeMachine(storefront, machineId, authorization, 'extend');
  const request = parseExtendMachineRequest(body);

  const prior = request.request_id ? machine.extensions?.[request.request_id] : undefined;
  if (prior) {
    if (prior.additional_minutes !== request.additional_minutes) {
      throw conflict(
        'request_id was already used for an extension of a different length; send a new request_id',
      );
    }
    return priorOutcome(machine, prior, clock.now());
  }

  const product = settings.catalog[machine.product_id];
  const now = clock.now();
  const plan = planExtension(machine, product, request.additional_minutes, now);

  if (machine.billing === 'unpaid') {
    const extended = await machines.applyExtension(machine.machine_id, plan, {
      machine_id: machine.machine_id,
      extension_key: request.request_id ?? `unpaid-${plan.leaseMinutesBefore}`,
      additional_minutes: request.additional_minutes,
      lease_minutes_after: plan.leaseMinutes,
      applied_at: now.toISOString(),
    });
    if (!extended)
      throw conflict('the lease changed while it was being extended; read it and try again');
    await storefront.leases.extensionApplied(extended).catch((error: unknown) =>
      log.warn('lease.extension_wake_failed', {
        machine_id: machine.machine_id,
        error: String(error),
      }),
    );
    log.info('lease.extended', {
      machine_id: machine.machine_id,
      lease_minutes: plan.leaseMinutes,
    });
    return { kind: 'extended', machine: toMachineView(extended, clock.now()) };
  }

  const quote = quoteExtension(product, request.additional_minutes);
  if (quote.amount_cents < payments.minimumChargeCents) {
    const minutes = Math.ceil(payments.minimumChargeCents / product.centsPerMinute);
    throw invalidRequest(
      `additional_minutes must be at least ${minutes}: an extension must cost at least ${formatCents(payments.minimumChargeCents)} USD with the accepted payment methods`,
    );
  }
  const terms = {
    amountCents: quote.amount_cents,
    description: `Extend ${machine.machine_id} by ${request.additional_minutes} minutes`,
    externalId: `${machine.machine_id}+${plan.leaseMinutesBefore}`,
    expires: new Date(now.getTime() + settings.challengeValidityMinutes * 60_000).toISOString(),
    binding: {
      machine_id: machine.machine_id,
      additional_minutes: String(request.additional_minutes),
      lease_minutes_before: String(plan.leaseMinutesBefore),
      ...(request.request_id ? { request_id: request.request_id } : {}),
    },
    authorizationTaken: true,
  };

  const presented = payments.readCredential(httpRequest, true);
  if (presented.kind === 'none') {
    const refusal = await payments.charge(httpRequest, terms);
    if (refusal.kind === 'paid') throw new Error('payment accepted without a credential');
    return { kind: 'payment_required', machine, quote, refusal };
  }
  const lockOwner = randomUUID();
  const attempt =
    presented.kind === 'credential'
      ? {
          ...attemptFor(
            presented,
            { externalId: terms.externalId, amountCents: quote.amount_cents },
            lockOwner,
            now,
          ),
          extension: {
            extension_key: request.request_id ?? `challenge-${presented.challengeId}`,
            additional_minutes: request.additional_minutes,
            lease_minutes_before: plan.leaseMinutesBefore,
          },
        }
      : undefined;
  const locked = await machines.lockForExtension(
    machine.machine_id,
    lockOwner,
    new Date(now.getTime() + settings.paymentLockSeconds * 1000),
    now,
    attempt,
  );
  if (!locked) {
    throw new ApiProblem(
      'payment_in_progress',
      'an extension payment for this machine is already being processed; retry in a few seconds',
    );
  }
  let releaseAttempt: string | undefined;
  try {
    const earlier = await finishEarlierExtensionAttempts(storefront, locked, lockOwner);
    if (earlier.length > 0) {
      releaseAttempt = attempt?.key;
      const same = earlier.find(
        (conclusion) => conclusion.extension.extension_key === attempt?.extension.extension_key,
      );
      if (same) return concludedOutcome(same, clock.now());
      throw conflict(
        'the lease changed while this extension was being paid for; read it and try again',
      );
    }
    // Expiry is checked only now: a credential charged by a request whose answer was lost is
    // concluded above, whatever its challenge's age. Only a charge to be made now is refused.
    if (answersExpiredChallenge(presented, clock.now())) {
      releaseAttempt = attempt?.key;
      const reason = expiredChallengeReason(
        presented.kind === 'credential' ? presented.expires : undefined,
      );
      return {
        kind: 'payment_required',
        machine,
        quote,
        refusal: await payments.challenge(httpRequest, terms, reason),
      };
    }
    // If this throws, nobody knows whether money moved: the attempt stays for recovery.
    const outcome = await payments.charge(httpRequest, terms);
    if (outcome.kind === 'refused') {
      if (!outcome.outcomeUnknown) releaseAttempt = attempt?.key;
      return { kind: 'payment_required', machine, quote, refusal: outcome };
    }
    const conclusion = await concludePaidExtension(
      storefront,
      machine.machine_id,
      attempt?.extension ?? {
        extension_key: request.request_id ?? `payment-${outcome.payment.reference}`,
        additional_minutes: request.additional_minutes,
        lease_minutes_before: plan.leaseMinutesBefore,
      },
      outcome.payment,
      quote.amount_cents,
      attempt?.key,
    );
    return concludedOutcome(conclusion, clock.now());
  } finally {
    await machines.releaseExtensionLock(machine.machine_id, lockOwner, releaseAttempt);
  }
}

function concludedOutcome(conclusion: ExtensionConclusion, now: Date): ExtendLeaseOutcome {
  if (conclusion.kind === 'applied') {
    const receipt = conclusion.extension.payment?.receipt_header;
    return {
      kind: 'extended',
      machine: toMachineView(conclusion.machine, now),
      ...(receipt ? { receiptHeader: receipt } : {}),
    };
  }
  throw refundedConflict(conclusion.extension, conclusion.refund?.status);
}

/** A retried extension reports what happened to it: applied (200), or refunded (409). */
function priorOutcome(
  machine: MachineRecord,
  prior: ExtensionRecord,
  now: Date,
): ExtendLeaseOutcome {
  if (prior.refund_due || prior.refund) throw refundedConflict(prior, prior.refund?.status);
  return {
    kind: 'extended',
    machine: toMachineView(machine, now),
    ...(prior.payment?.receipt_header ? { receiptHeader: prior.payment.receipt_header } : {}),
  };
}

function refundedConflict(extension: ExtensionRecord, refundStatus?: string) {
  const amount = extension.amount_cents ? `${formatCents(extension.amount_cents)} USD ` : '';
  const state =
    refundStatus === 'refunded'
      ? `its payment ${amount}was refunded`
      : `its payment ${amount}is being refunded`;
  return conflict(
    `this extension was not applied: the lease changed (it ended or was extended) while it was being paid, so ${state}; read the machine and send a new request_id to extend it`,
  );
}
