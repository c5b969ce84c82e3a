import { randomUUID } from 'node:crypto';
import { ApiProblem, conflict, invalidRequest } from '../errors.js';
import { type MachineRecord, type MachineView, planExtension, toMachineView } from '../machine.js';
import type { PaymentRecord } from '../order.js';
import type { ChargeOutcome } from '../ports.js';
import { type ExtensionQuote, formatCents, quoteExtension } from '../pricing.js';
import { parseExtendMachineRequest } from '../requests.js';
import { authorizeMachine } from './authorize-machine.js';
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
 * makes a retried extension return the first result instead of charging again.
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

  if (request.request_id) {
    const prior = await machines.getExtension(machine.machine_id, request.request_id);
    if (prior) {
      if (prior.additional_minutes !== request.additional_minutes) {
        throw conflict(
          'request_id was already used for an extension of a different length; send a new request_id',
        );
      }
      return {
        kind: 'extended',
        machine: toMachineView(machine),
        ...(prior.payment?.receipt_header ? { receiptHeader: prior.payment.receipt_header } : {}),
      };
    }
  }

  const product = settings.catalog[machine.product_id];
  const now = clock.now();
  const plan = planExtension(machine, product, request.additional_minutes, now);

  const apply = async (payment?: PaymentRecord, amountCents?: number) => {
    const extended = await machines.extend(machine.machine_id, plan);
    const extensionKey = request.request_id ?? payment?.reference;
    if (extensionKey) {
      await machines.recordExtension({
        machine_id: machine.machine_id,
        extension_key: extensionKey,
        additional_minutes: request.additional_minutes,
        lease_minutes_after: plan.leaseMinutes,
        applied_at: clock.now().toISOString(),
        ...(payment ? { payment, amount_cents: amountCents } : {}),
        ...(extended ? {} : { refund_due: true }),
      });
    }
    return { extended, extensionKey };
  };

  if (machine.billing === 'unpaid') {
    const { extended } = await apply();
    if (!extended)
      throw conflict('the lease changed while it was being extended; read it and try again');
    log.info('lease.extended', {
      machine_id: machine.machine_id,
      lease_minutes: plan.leaseMinutes,
    });
    return { kind: 'extended', machine: toMachineView(extended) };
  }

  /** Money taken for an extension that could not apply goes straight back. */
  const refundUnappliedExtension = async (
    payment: PaymentRecord,
    amountCents: number,
    key: string | undefined,
  ) => {
    try {
      const refund = await storefront.refunds.refund({
        payment,
        amountCents,
        idempotencyKey: `refund-${machine.machine_id}-${key ?? payment.reference}`,
        reason: 'the lease changed while the extension was being paid',
      });
      if (refund && key) await machines.recordExtensionRefund(machine.machine_id, key, refund);
      log.warn('lease.extension_refunded', {
        machine_id: machine.machine_id,
        reference: refund?.reference,
      });
      return true;
    } catch (error) {
      log.error('lease.extension_refund_failed', {
        machine_id: machine.machine_id,
        payment_reference: payment.reference,
        error: String(error),
      });
      return false;
    }
  };

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

  if (payments.readCredential(httpRequest, true).kind === 'none') {
    const refusal = await payments.charge(httpRequest, terms);
    if (refusal.kind === 'paid') throw new Error('payment accepted without a credential');
    return { kind: 'payment_required', machine, quote, refusal };
  }

  const lockOwner = randomUUID();
  const locked = await machines.lockForExtension(
    machine.machine_id,
    lockOwner,
    new Date(now.getTime() + settings.paymentLockSeconds * 1000),
    now,
  );
  if (!locked) {
    throw new ApiProblem(
      'payment_in_progress',
      'an extension payment for this machine is already being processed; retry in a few seconds',
    );
  }
  try {
    const outcome = await payments.charge(httpRequest, terms);
    if (outcome.kind === 'refused')
      return { kind: 'payment_required', machine, quote, refusal: outcome };
    const { extended, extensionKey } = await apply(outcome.payment, quote.amount_cents);
    if (!extended) {
      const refunded = await refundUnappliedExtension(
        outcome.payment,
        quote.amount_cents,
        extensionKey,
      );
      throw conflict(
        `the lease changed while the extension was being paid (it ended or was extended meanwhile), so it was not extended; ${refunded ? 'the payment was refunded' : `payment ${outcome.payment.reference} is recorded for a refund`}`,
      );
    }
    log.info('lease.extended', {
      machine_id: machine.machine_id,
      lease_minutes: plan.leaseMinutes,
      method: outcome.payment.method,
      amount_cents: quote.amount_cents,
    });
    return {
      kind: 'extended',
      machine: toMachineView(extended),
      receiptHeader: outcome.payment.receipt_header,
    };
  } finally {
    await machines.releaseExtensionLock(machine.machine_id, lockOwner);
  }
}
