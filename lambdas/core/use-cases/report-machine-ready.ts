import { ApiProblem, conflict, forbidden, notFound, unauthenticated } from '../errors.js';
import { MACHINE_ID_PATTERN } from '../ids.js';
import {
  leaseClock,
  leaseEndFromActivation,
  type MachineRecord,
  type MachineView,
  toMachineView,
} from '../machine.js';
import {
  hashReadinessSecret,
  looksLikeReadinessSecret,
  readinessSecretMatches,
} from '../readiness-secret.js';
import { parseMachineReadyRequest } from '../requests.js';
import type { Storefront } from './storefront.js';

/**
 * POST /api/machines/{machine_id}/ready, called by the machine's boot script once it is
 * usable. With the one-time readiness secret of this machine's launch, it activates the lease
 * in one conditional write (the clock starts now) and then wakes the workflow waiting on the
 * launch, so the agent sees `active` the moment the machine is. Anything else (no secret, a
 * forged one, another machine's, a machine no longer provisioning, a bad body) is a 4xx and
 * changes nothing. Waking the workflow is best effort: a workflow that stopped waiting polls
 * and finds the lease active.
 */
export async function reportMachineReady(
  storefront: Storefront,
  machineId: string,
  authorization: string | undefined,
  body: unknown,
): Promise<MachineView> {
  const { machines, leases, clock, log } = storefront;
  if (!authorization) {
    throw unauthenticated(
      'Authorization: Bearer <readiness secret> is required; only the machine itself reports ready',
    );
  }
  const secret = /^Bearer +(\S+) *$/i.exec(authorization)?.[1];
  if (!secret || !looksLikeReadinessSecret(secret)) {
    throw unauthenticated(
      'Authorization header must be "Bearer mr_ready_…" with the readiness secret from the machine\'s user data',
    );
  }
  if (!MACHINE_ID_PATTERN.test(machineId)) throw notFound('machine not found');
  parseMachineReadyRequest(body);
  const now = clock.now();
  let machine = await machines.get(machineId, now);
  if (!readinessSecretMatches(secret, machine?.ready_secret_hash) || !machine) {
    throw forbidden('this readiness secret does not belong to this machine');
  }
  const notProvisioning = (status: string | undefined) =>
    conflict(
      `machine is ${status ?? 'gone'}; it can report ready only once, while it is provisioning`,
    );
  if (machine.status !== 'provisioning') throw notProvisioning(machine.status);
  // The address is the instance's own, as EC2 reports it: a caller holding the secret (the
  // agent has root on its machine and can read its user data) cannot name another host.
  const host = machine.instance_id
    ? await storefront.instances.publicAddress(machine.instance_id)
    : undefined;
  if (!host) {
    throw new ApiProblem(
      'unavailable',
      "EC2 lists no public address for this machine's instance yet; retry shortly",
      5,
    );
  }
  let active: MachineRecord | undefined;
  // The end is computed from the lease minutes read; an extension paid in between changes them
  // and refuses the write, so read again (a lost race with a DELETE or the poll ends the loop).
  for (let attempt = 0; !active && attempt < 3; attempt++) {
    if (machine?.status !== 'provisioning') throw notProvisioning(machine?.status);
    active = await machines.activateOnReadiness(machineId, {
      host,
      readySecretHash: hashReadinessSecret(secret),
      activatedAt: now.toISOString(),
      expiresAt: leaseEndFromActivation(machine, now),
      leaseMinutes: machine.lease_minutes,
    });
    if (!active) machine = await machines.get(machineId, now);
  }
  if (!active) throw notProvisioning(machine?.status);
  log.info('lease.active', {
    machine_id: machineId,
    host: active.host,
    expires_at: active.expires_at,
    via: 'ready_callback',
  });
  try {
    await leases.readinessReported(active, leaseClock(active.expires_at, now, true));
  } catch (error) {
    log.warn('lease.ready_wake_failed', {
      machine_id: machineId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
  return toMachineView(active, now);
}
