import { DynamoOrderStore } from '../adapters/dynamodb/order-store.js';
import { paymentRefunds } from '../adapters/payments/refund-gateway.js';
import { readSecretString, secretsManager } from '../adapters/secrets/secrets-manager.js';
import {
  type RefundDependencies,
  type RefundSummary,
  refundFailedLease,
} from '../core/use-cases/refund-failed-lease.js';
import { onWorkflowLambda } from '../runtime/aws-workflow.js';

/** Step "Refund payment": a failed lease gives back its order and extension payments. */
export const createRefundLease =
  (deps: RefundDependencies) =>
  (input: { machine_id: string }): Promise<RefundSummary> =>
    refundFailedLease(deps, input.machine_id);

/** Lambda entry point: the only workflow function that holds the Stripe key. */
export const handler = onWorkflowLambda(async (context) => {
  const secretArn = process.env.STRIPE_SECRET_ARN;
  const stripeSecretKey = secretArn
    ? await readSecretString(secretsManager(), secretArn)
    : undefined;
  return createRefundLease({
    ...context,
    orders: new DynamoOrderStore(context.db, context.config.TABLE_NAME),
    refunds: paymentRefunds({
      clock: context.clock,
      ...(stripeSecretKey ? { stripeSecretKey } : {}),
    }),
  });
});
