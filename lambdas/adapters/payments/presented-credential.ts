import { createHash } from 'node:crypto';
import { Credential } from 'mppx';
import type { PresentedCredential } from '../../core/ports.js';

/**
 * Reads the payment credential of a request exactly as mppx's HTTP transport does, so the
 * use cases and mppx never disagree on whether one was presented: `Authorization` (or
 * `Payment-Authorization` where Authorization carries a capability token) is a list of
 * schemes, and the `Payment` scheme may be anywhere in it (`Basic x, Payment …`, or two
 * headers, which Fetch joins with ", ").
 */
/**
 * Why a request that named the Payment scheme presented no credential: `Authorization:
 * Payment` with nothing after it (a client whose header parser came up empty) reads as no
 * credential to mppx, so without this the agent would get the first challenge's words again
 * and never learn its credential was missing.
 */
export function emptyCredentialReason(
  request: Request,
  authorizationTaken: boolean,
): string | undefined {
  const name = authorizationTaken ? 'Payment-Authorization' : 'Authorization';
  const header = request.headers.get(name);
  if (!header || readPresentedCredential(request, authorizationTaken).kind !== 'none') {
    return undefined;
  }
  const namesPaymentScheme = header
    .split(',')
    .some((scheme) => scheme.trim().toLowerCase() === 'payment');
  return namesPaymentScheme
    ? `the ${name} header names the Payment scheme but carries no credential; send ${name}: Payment <credential as unpadded base64url JSON>`
    : undefined;
}

export function readPresentedCredential(
  request: Request,
  authorizationTaken: boolean,
): PresentedCredential {
  const header = request.headers.get(
    authorizationTaken ? 'payment-authorization' : 'authorization',
  );
  const scheme = header ? Credential.extractPaymentScheme(header) : null;
  if (!scheme) return { kind: 'none' };
  try {
    const credential = Credential.deserialize(scheme);
    return {
      kind: 'credential',
      challengeId: credential.challenge.id,
      method: credential.challenge.method,
      // Identifies this very credential without storing it (a Stripe SPT is a payment grant).
      digest: createHash('sha256').update(scheme).digest('hex'),
      ...(credential.challenge.expires ? { expires: credential.challenge.expires } : {}),
    };
  } catch {
    return { kind: 'unreadable' };
  }
}
