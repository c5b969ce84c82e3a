import type { Storefront } from '../core/use-cases/storefront.js';
import { type SweepReport, sweepPayments } from '../core/use-cases/sweep-payments.js';
import { composeStorefront } from '../runtime/aws-storefront.js';
import { embeddedMetrics } from '../runtime/metrics.js';
import { mppxPayments } from '../runtime/parts/mppx-payments.js';
import { secretsManagerSecrets } from '../runtime/parts/secrets-manager-secrets.js';
import { stepFunctionsLeases } from '../runtime/parts/step-functions-leases.js';
import { tableStores } from '../runtime/parts/table-stores.js';
import type { FunctionRuntime } from '../runtime/runtime-clients.js';

/** It settles, starts leases and refunds: the parts of the paid operations. */
const PARTS = {
  secrets: secretsManagerSecrets,
  stores: tableStores,
  leases: stepFunctionsLeases,
  payments: mppxPayments,
};

function sweeper(runtime: () => FunctionRuntime) {
  let storefront: Promise<Storefront> | undefined;
  return async (): Promise<SweepReport> => {
    storefront ??= composeStorefront(PARTS, runtime()).catch((error: unknown) => {
      storefront = undefined;
      throw error;
    });
    const report = await sweepPayments(await storefront);
    embeddedMetrics({ Stack: runtime().env.MANAGED_BY ?? 'storefront' })({
      PaymentsSettledBySweeper: report.settled,
      MachinesStartedBySweeper: report.machines_started,
      RefundsBySweeper: report.refunded,
      SweepFailures: report.failed,
      RefundsOwedOverAnHour: report.refunds_owed_over_an_hour,
    });
    return report;
  };
}

/**
 * The payment sweeper on its EventBridge schedule: the same use case and composition the
 * local storefront runs periodically (`handler.with`). Its counts go out as CloudWatch
 * metrics; `RefundsOwedOverAnHour` has an alarm.
 */
export const handler = Object.assign(
  sweeper(() => ({ env: process.env })),
  { with: (runtime: FunctionRuntime) => sweeper(() => runtime) },
);
