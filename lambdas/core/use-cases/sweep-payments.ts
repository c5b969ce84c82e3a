import { randomUUID } from 'node:crypto';
import { ApiProblem } from '../errors.js';
import type { MachineRecord } from '../machine.js';
import type { OrderRecord } from '../order.js';
import { finishEarlierExtensionAttempts, refundExtension } from './conclude-extension.js';
import { payCauseRefunds } from './end-lease-for-cause.js';
import { fulfilOrder } from './fulfil-order.js';
import { refundFailedLease } from './refund-failed-lease.js';
import { refundUnusedMinutes } from './refund-unused-minutes.js';
import { finishEarlierAttempts, MACHINE_CHECK_MINUTES, refundDuplicate } from './settle-payment.js';
import type { Storefront } from './storefront.js';

export interface SweepReport {
  /** Orders settled from an attempt whose answer was lost. */
  settled: number;
  /** Attempts found to have taken no money, and forgotten. */
  forgotten: number;
  /** Settled orders whose machine was created or whose workflow was (re)started. */
  machines_started: number;
  /** Orders refunded because their lease failed before the agent could use it. */
  refunded: number;
  /** Items the provider could not answer for yet, looked at again later. */
  waiting: number;
  /** Refunds still owed more than an hour after they fell due (the alarm's metric). */
  refunds_owed_over_an_hour: number;
  failed: number;
}

/** How soon an item the provider could not answer for is looked at again. */
export const SWEEP_RETRY_MINUTES = 2;
const OWED_ALARM_MS = 3_600_000;

const minutesAfter = (date: Date, minutes: number) =>
  new Date(date.getTime() + minutes * 60_000).toISOString();

/**
 * The sweeper: every payment ends as a machine, an applied extension or a refund, even when
 * the request that took it died. It finds, by the sweep index, orders with a payment attempt
 * whose request never concluded (settle, or forget an attempt that took nothing), settled
 * orders whose machine is not running (create it, start its workflow, idempotent by machine
 * id) and orders whose lease failed before use (refund). Runs on a schedule in AWS and
 * periodically in the local storefront; any number of sweeps may overlap.
 */
export async function sweepPayments(storefront: Storefront, limit = 100): Promise<SweepReport> {
  const { orders, clock, log } = storefront;
  const report: SweepReport = {
    settled: 0,
    forgotten: 0,
    machines_started: 0,
    refunded: 0,
    waiting: 0,
    refunds_owed_over_an_hour: 0,
    failed: 0,
  };
  for (const order of await orders.dueForSweep(clock.now(), limit)) {
    try {
      await sweepOrder(storefront, order, report);
    } catch (error) {
      report.failed++;
      log.error('sweep.order_failed', { order_id: order.order_id, error: String(error) });
      await orders.scheduleSweep(order.order_id, minutesAfter(clock.now(), SWEEP_RETRY_MINUTES));
    }
  }
  for (const machine of await storefront.machines.dueForSweep(clock.now(), limit)) {
    try {
      await sweepMachine(storefront, machine, report);
    } catch (error) {
      report.failed++;
      log.error('sweep.machine_failed', { machine_id: machine.machine_id, error: String(error) });
      await storefront.machines.scheduleSweep(
        machine.machine_id,
        minutesAfter(clock.now(), SWEEP_RETRY_MINUTES),
      );
    }
  }
  if (Object.values(report).some((count) => count > 0)) log.info('sweep.report', { ...report });
  return report;
}

/**
 * A machine is on the list while an extension attempt is unconcluded, an extension's payment
 * is owed back, or the unused minutes of an early termination are: conclude the one, refund
 * the others until the provider confirms.
 */
async function sweepMachine(storefront: Storefront, found: MachineRecord, report: SweepReport) {
  const { machines, settings, clock } = storefront;
  const retryLater = () =>
    machines.scheduleSweep(found.machine_id, minutesAfter(clock.now(), SWEEP_RETRY_MINUTES));
  if (Object.keys(found.extension_attempts ?? {}).length > 0) {
    const owner = randomUUID();
    const now = clock.now();
    const locked = await machines.lockForExtension(
      found.machine_id,
      owner,
      new Date(now.getTime() + settings.paymentLockSeconds * 1000),
      now,
    );
    if (!locked) return;
    try {
      const concluded = await finishEarlierExtensionAttempts(storefront, locked, owner);
      report.settled += concluded.filter((outcome) => outcome.kind === 'applied').length;
      report.forgotten += Object.keys(locked.extension_attempts ?? {}).length - concluded.length;
    } catch (error) {
      if (!(error instanceof ApiProblem && error.kind === 'payment_in_progress')) throw error;
      report.waiting++;
      await retryLater();
      return;
    }
    await machines.releaseExtensionLock(found.machine_id, owner);
  }
  const machine = (await machines.get(found.machine_id, new Date(0))) ?? found;
  let owed = 0;
  for (const extension of Object.values(machine.extensions ?? {})) {
    const pending = extension.refund?.status === 'pending';
    if (!extension.refund_due && !pending) continue;
    const refund = await refundExtension(storefront, extension);
    if (refund?.status === 'refunded') {
      report.refunded++;
      continue;
    }
    owed++;
    const since = Date.parse(extension.refund_due_since ?? extension.applied_at);
    if (clock.now().getTime() - since > OWED_ALARM_MS) report.refunds_owed_over_an_hour++;
  }
  if (machine.unused_refund && machine.unused_refund.refund?.status !== 'refunded') {
    const refund = await refundUnusedMinutes(storefront, machine);
    if (refund?.status === 'refunded') report.refunded++;
    else {
      owed++;
      const since = Date.parse(machine.unused_refund.due_since);
      if (clock.now().getTime() - since > OWED_ALARM_MS) report.refunds_owed_over_an_hour++;
    }
  }
  // A lease ended for cause: the refund decided then, paid once (end-lease-for-cause.ts).
  if (machine.cause_refunds && Object.keys(machine.cause_refunds).length) {
    const causeOwed = await payCauseRefunds(storefront, machine);
    report.refunded += Object.keys(machine.cause_refunds).length - causeOwed;
    owed += causeOwed;
    const since = Date.parse(machine.end_cause?.ended_at ?? clock.now().toISOString());
    if (causeOwed && clock.now().getTime() - since > OWED_ALARM_MS)
      report.refunds_owed_over_an_hour++;
  }
  if (owed > 0) {
    report.waiting++;
    await retryLater();
    return;
  }
  await machines.closeSweep(machine.machine_id);
}

async function sweepOrder(storefront: Storefront, found: OrderRecord, report: SweepReport) {
  const { orders, settings, clock } = storefront;
  let order = found;
  if (order.status === 'unpaid') {
    if (Object.keys(order.payment_attempts ?? {}).length === 0) {
      await orders.closeSweep(order.order_id);
      return;
    }
    const owner = randomUUID();
    const now = clock.now();
    const locked = await orders.lockForPayment(
      order.order_id,
      owner,
      new Date(now.getTime() + settings.paymentLockSeconds * 1000),
      now,
    );
    // A request is paying it right now; its attempt keeps the order on the list.
    if (!locked) return;
    let earlier: Awaited<ReturnType<typeof finishEarlierAttempts>>;
    try {
      earlier = await finishEarlierAttempts(storefront, locked, owner);
    } catch (error) {
      if (!(error instanceof ApiProblem && error.kind === 'payment_in_progress')) throw error;
      report.waiting++;
      await orders.scheduleSweep(order.order_id, minutesAfter(clock.now(), SWEEP_RETRY_MINUTES));
      return;
    }
    if (!earlier) {
      report.forgotten++;
      await orders.releasePaymentLock(order.order_id, owner);
      await orders.closeSweep(order.order_id);
      return;
    }
    report.settled++;
    order = earlier.order;
  }
  await finishSettledOrder(storefront, order, report);
}

/** A settled order is done once its machine ran, or its failed lease was refunded. */
async function finishSettledOrder(storefront: Storefront, order: OrderRecord, report: SweepReport) {
  const { orders, machines, leases, clock, log } = storefront;
  const later = () => minutesAfter(clock.now(), MACHINE_CHECK_MINUTES);
  let duplicatesOwed = 0;
  for (const duplicate of Object.values(order.duplicate_payments ?? {})) {
    if (duplicate.refund?.status === 'refunded') continue;
    const refund = await refundDuplicate(storefront, order.order_id, duplicate);
    if (refund?.status === 'refunded') {
      report.refunded++;
      continue;
    }
    duplicatesOwed++;
    if (clock.now().getTime() - Date.parse(duplicate.due_since) > OWED_ALARM_MS) {
      report.refunds_owed_over_an_hour++;
    }
  }
  if (duplicatesOwed > 0) report.waiting++;
  if (!order.machine_id) throw new Error(`settled order ${order.order_id} has no machine id`);
  const machine = await machines.get(order.machine_id, new Date(0));
  if (!machine) {
    if (!order.ssh_public_key) {
      throw new Error(`order ${order.order_id} has no machine and no key to create it with`);
    }
    await fulfilOrder(storefront, order, order.ssh_public_key);
    report.machines_started++;
    log.warn('sweep.machine_created', { order_id: order.order_id, machine_id: order.machine_id });
    await orders.scheduleSweep(order.order_id, later());
    return;
  }
  if (machine.status === 'provisioning') {
    // Idempotent by machine id: starts a workflow that never started, or does nothing.
    await leases.start(machine);
    await orders.scheduleSweep(order.order_id, later());
    return;
  }
  if (machine.status === 'failed' && !machine.activated_at && machine.billing === 'paid') {
    const summary = await refundFailedLease(storefront, machine.machine_id);
    if (summary.refunds.length) report.refunded++;
    const current = await orders.get(order.order_id, clock.now());
    if (current?.refund?.status !== 'refunded') {
      report.waiting++;
      const owedSince = Date.parse(machine.terminated_at ?? machine.created_at);
      if (clock.now().getTime() - owedSince > OWED_ALARM_MS) report.refunds_owed_over_an_hour++;
      await orders.scheduleSweep(order.order_id, later());
      return;
    }
  }
  if (duplicatesOwed > 0) {
    await orders.scheduleSweep(order.order_id, minutesAfter(clock.now(), SWEEP_RETRY_MINUTES));
    return;
  }
  await orders.closeSweep(order.order_id);
}
