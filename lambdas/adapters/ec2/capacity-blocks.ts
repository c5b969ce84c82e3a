import type { CapacityReservation } from '@aws-sdk/client-ec2';

/** Capacity Block instances are stopped before the block ends; leases end earlier still. */
export const CAPACITY_BLOCK_END_MARGIN_MINUTES = 30;

/** Time allowed for the machine to start inside the block, before its lease clock runs. */
const PROVISIONING_ALLOWANCE_MINUTES = 15;

/**
 * The first active block with a free slot, in one of the stack's zones, that lasts long
 * enough for a lease of `leaseMinutes` starting now. Used both before payment (is there
 * room?) and at launch (where to go), so the two cannot disagree.
 */
export function usableCapacityBlock(
  reservations: readonly CapacityReservation[],
  options: { now: Date; leaseMinutes: number; zones: readonly string[] },
): CapacityReservation | undefined {
  const needsUntil =
    options.now.getTime() +
    (options.leaseMinutes + CAPACITY_BLOCK_END_MARGIN_MINUTES + PROVISIONING_ALLOWANCE_MINUTES) *
      60_000;
  return reservations.find(
    (candidate) =>
      (candidate.State === undefined || candidate.State === 'active') &&
      (candidate.AvailableInstanceCount ?? 0) > 0 &&
      (!candidate.EndDate || candidate.EndDate.getTime() >= needsUntil) &&
      options.zones.includes(candidate.AvailabilityZone ?? ''),
  );
}
