import { DynamoOrderStore } from '../adapters/dynamodb/order-store.js';
import { paymentRefunds } from '../adapters/payments/refund-gateway.js';
import {
  type RefundDependencies,
  type RefundSummary,
  refundFailedLease,
} from '../core/use-cases/refund-failed-lease.js';
import { onWorkflowLambda } from '../runtime/aws-workflow.js';
import { secretsManagerSecrets } from '../runtime/parts/secrets-manager-secrets.js';
import { refundEnvironmentSchema } from '../runtime/workflow-environment.js';

/** Step "Refund payment": a failed lease gives back its order and extension payments. */
export const createRefundLease =
  (deps: RefundDependencies) =>
  (input: { machine_id: string }): Promise<RefundSummary> =>
    refundFailedLease(deps, input.machine_id);

/** Lambda entry point: the only workflow function that holds the Stripe key. */
export const handler = onWorkflowLambda(
  async (context) => {
    const secretArn = context.config.STRIPE_SECRET_ARN;
    const [stripeSecretKey] = secretArn
      ? await secretsManagerSecrets(context.clients, [secretArn])
      : [];
    return createRefundLease({
      ...context,
      orders: new DynamoOrderStore(context.db, context.config.TABLE_NAME),
      refunds: paymentRefunds({
        clock: context.clock,
        ...(stripeSecretKey ? { stripeSecretKey } : {}),
      }),
    });
  },
  { environment: refundEnvironmentSchema },
);
