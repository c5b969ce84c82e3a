import type { ChargeOutcome } from '../core/ports.js';
import { headersOf, json } from './responses.js';

export const orderUrl = (baseUrl: string, orderId: string) =>
  `${baseUrl}/api/machine/mpp/orders/${encodeURIComponent(orderId)}`;

/**
 * A refused or missing payment: 402 with fresh challenges in WWW-Authenticate and the
 * operation's own body, plus `error` saying why a presented credential failed.
 */
export function paymentRefusal(
  refusal: Extract<ChargeOutcome, { kind: 'refused' }>,
  body: Record<string, unknown>,
) {
  const headers = headersOf(refusal.challengeHeaders);
  if (refusal.status === 400) {
    return json(
      400,
      { error: `payment credential rejected: ${refusal.reason ?? 'it is malformed'}` },
      headers,
    );
  }
  if (refusal.status === 502) {
    return json(
      502,
      {
        error:
          'the payment could not be verified right now; nothing was provisioned, retry the same request shortly',
      },
      headers,
    );
  }
  const reason = refusal.reason ? { error: `payment not accepted: ${refusal.reason}` } : {};
  return json(402, { ...body, ...reason }, headers);
}
