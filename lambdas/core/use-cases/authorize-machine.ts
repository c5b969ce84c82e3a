import {
  type Capability,
  looksLikeCapabilityToken,
  tokenAuthorises,
} from '../capability-tokens.js';
import { forbidden, notFound, unauthenticated } from '../errors.js';
import { MACHINE_ID_PATTERN } from '../ids.js';
import type { MachineRecord } from '../machine.js';
import type { Storefront } from './storefront.js';

const OPERATION: Record<Capability, string> = {
  read: 'reading',
  extend: 'extending',
  terminate: 'terminating',
};

/**
 * Resolves the machine a bearer capability token unlocks. Answers are ordered so that a
 * caller without a well-formed token learns nothing: a well-formed id that is unknown gets the
 * same 403 as a wrong token.
 */
export async function authorizeMachine(
  storefront: Storefront,
  machineId: string,
  authorization: string | undefined,
  capability: Capability,
): Promise<MachineRecord> {
  // Credentials are checked before the id is even looked at: without a token nothing,
  // not even whether an id is well formed, is worth answering (401 as the contract says).
  const bearer = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  if (!authorization) {
    throw unauthenticated(
      'Authorization: Bearer <token> is required; use the management token issued with the machine',
    );
  }
  const token = bearer?.[1];
  if (!token || !looksLikeCapabilityToken(token)) {
    throw unauthenticated(
      'Authorization header must be "Bearer mt_…" with a management token issued with the machine',
    );
  }
  if (!MACHINE_ID_PATTERN.test(machineId)) throw notFound('machine not found');
  const machine = await storefront.machines.get(machineId, storefront.clock.now());
  if (!tokenAuthorises(token, capability, machine) || !machine) {
    throw forbidden(`this token does not authorise ${OPERATION[capability]} this machine`);
  }
  return machine;
}
