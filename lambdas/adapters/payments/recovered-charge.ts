import { Receipt } from 'mppx';
import type { PaymentAttempt } from '../../core/payment-records.js';
import type { AttemptRecovery } from '../../core/ports.js';

/**
 * A lost attempt that the provider says was charged: the payment as settling records it, with
 * the receipt the agent would have had (mppx's format), so a retry answers as the first would.
 */
export function recoveredCharge(
  method: string,
  reference: string,
  attempt: PaymentAttempt,
  now: Date,
): AttemptRecovery {
  const receipt = {
    method,
    reference,
    status: 'success' as const,
    timestamp: now.toISOString(),
    externalId: attempt.external_id,
  };
  return {
    kind: 'charged',
    payment: { method, reference, receipt_header: Receipt.serialize(receipt) },
  };
}
