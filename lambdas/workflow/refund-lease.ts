import type { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import { DynamoOrderStore } from '../adapters/dynamodb/order-store.js';
import {
  type RefundDependencies,
  type RefundSummary,
  refundFailedLease,
} from '../core/use-cases/refund-failed-lease.js';
import { type AwsWorkflowContext, onWorkflowLambda } from '../runtime/aws-workflow.js';
import { methodRefunds } from '../runtime/parts/method-refunds.js';
import { refundEnvironmentSchema } from '../runtime/workflow-environment.js';

export interface RefundLeaseDependencies extends RefundDependencies {
  lifecycle: Pick<LeaseLifecycleStore, 'settleRefund' | 'recordRefundError'>;
}

/** Refunds one failed lease; what every path that fails a lease calls (workflow, cleanup, reconciler). */
export type RefundLease = (input: { machine_id: string }) => Promise<RefundSummary>;

/**
 * Step "Refund payment": a failed lease gives back its order and extension payments, then
 * clears the lease's `refund_due`. When a refund fails the debt stays on the record with
 * the error beside it (`refund_error`), for the next attempt or the refund sweeper.
 */
export const createRefundLease =
  (deps: RefundLeaseDependencies): RefundLease =>
  async (input) => {
    let summary: RefundSummary;
    try {
      summary = await refundFailedLease(deps, input.machine_id);
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      await deps.lifecycle.recordRefundError(input.machine_id, message).catch(() => undefined);
      deps.log.error('lease.refund_failed', { machine_id: input.machine_id, error: message });
      throw error;
    }
    await deps.lifecycle.settleRefund(input.machine_id);
    return summary;
  };

/**
 * The refund step with the AWS adapters: the accepted methods' refund secrets are read once.
 * The refund, cleanup and reconcile functions share it (each is given the same variables).
 */
export async function awsRefundLease(
  context: AwsWorkflowContext<typeof refundEnvironmentSchema>,
): Promise<RefundLease> {
  return createRefundLease({
    ...context,
    orders: new DynamoOrderStore(context.db, context.config.TABLE_NAME),
    refunds: await methodRefunds(context),
  });
}

/** Lambda entry point. */
export const handler = onWorkflowLambda(awsRefundLease, { environment: refundEnvironmentSchema });
