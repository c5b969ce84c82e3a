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
 * caller without a valid token learns nothing: a well-formed id that is unknown gets the
 * same 403 as a wrong token.
 */
export async function authorizeMachine(
  storefront: Storefront,
  machineId: string,
  authorization: string | undefined,
  capability: Capability,
): Promise<MachineRecord> {
  if (!MACHINE_ID_PATTERN.test(machineId)) throw notFound('machine not found');
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
  const machine = await storefront.machines.get(machineId, storefront.clock.now());
  if (!tokenAuthorises(token, capability, machine) || !machine) {
    throw forbidden(`this token does not authorise ${OPERATION[capability]} this machine`);
  }
  return machine;
}
