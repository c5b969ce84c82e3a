/**
 * The records of money moving: a payment taken, an attempt being charged, a refund, a second
 * payment owed back. Orders and machines hold them; the ports store and return them.
 */

export interface PaymentRecord {
  /** mppx method name (`stripe`, `test`) or `none` for the unpaid create. */
  method: string;
  reference: string;
  /** The Payment-Receipt header sent with the first 202, sent again on every identical retry. */
  receipt_header?: string;
}

/**
 * A credential about to be charged, written before the method is called, so that a crash or a
 * lost answer after the charge can be recovered instead of charging the agent again.
 */
export interface PaymentAttempt {
  /** One per credential: a digest of it (the credential itself is never stored). */
  key: string;
  challenge_id: string;
  method: string;
  /** What the money is for: the order id, or the machine and extension key. */
  external_id: string;
  amount_cents: number;
  started_at: string;
  /** The request that recorded it; a different holder treats it as an earlier, unfinished attempt. */
  owner: string;
  /** For an extension: what the payment buys, to apply it when the attempt is recovered. */
  extension?: { extension_key: string; additional_minutes: number; lease_minutes_before: number };
}

/** Money given back: a failed lease's order and extensions, or an extension that could not apply. */
export interface RefundRecord {
  status: 'refunded' | 'pending';
  amount_cents: number;
  /** The provider's refund id (Stripe re_…), or a test reference. */
  reference: string;
  refunded_at: string;
}

/** A second payment for an order already settled (a lapsed lock), owed back. */
export interface DuplicatePayment {
  payment: PaymentRecord;
  amount_cents: number;
  due_since: string;
  refund?: RefundRecord;
}
