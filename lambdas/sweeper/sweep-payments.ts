import type { Storefront } from '../core/use-cases/storefront.js';
import { sweepPayments } from '../core/use-cases/sweep-payments.js';
import { awsStorefront } from '../runtime/aws-storefront.js';
import { embeddedMetrics } from '../runtime/metrics.js';

let storefront: Promise<Storefront> | undefined;

/**
 * The payment sweeper on its EventBridge schedule: the same use case the local storefront
 * runs periodically. Its counts go out as CloudWatch metrics; `RefundsOwedOverAnHour` has
 * an alarm.
 */
export const handler = async () => {
  storefront ??= awsStorefront().catch((error: unknown) => {
    storefront = undefined;
    throw error;
  });
  const report = await sweepPayments(await storefront);
  embeddedMetrics({ Stack: process.env.STACK_NAME ?? 'storefront' })({
    PaymentsSettledBySweeper: report.settled,
    MachinesStartedBySweeper: report.machines_started,
    RefundsBySweeper: report.refunded,
    SweepFailures: report.failed,
    RefundsOwedOverAnHour: report.refunds_owed_over_an_hour,
  });
  return report;
};
