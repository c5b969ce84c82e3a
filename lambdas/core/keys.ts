import { hkdfSync } from 'node:crypto';

/**
 * Every secret the storefront needs is derived from one operator secret, each for one
 * purpose only, so rotating or leaking one purpose key cannot be turned into another.
 */
export interface StorefrontKeys {
  /** Signs and verifies MPP challenges (mppx wants a string of at least 32 bytes). */
  mppSecretKey: string;
  /** Keys the order id derived from a request_id, so outsiders cannot compute order ids. */
  orderIdKey: Buffer;
  /** Derives capability tokens, so a retried order can hand back the same tokens. */
  capabilityTokenKey: Buffer;
}

export const MIN_STOREFRONT_SECRET_BYTES = 32;

function derive(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'agentic-compute-storefront', purpose, 32));
}

export function deriveKeys(storefrontSecret: string): StorefrontKeys {
  if (Buffer.byteLength(storefrontSecret, 'utf8') < MIN_STOREFRONT_SECRET_BYTES) {
    throw new Error(`the storefront secret must be at least ${MIN_STOREFRONT_SECRET_BYTES} bytes`);
  }
  return {
    mppSecretKey: derive(storefrontSecret, 'mpp-challenge').toString('hex'),
    orderIdKey: derive(storefrontSecret, 'order-id'),
    capabilityTokenKey: derive(storefrontSecret, 'capability-token'),
  };
}
