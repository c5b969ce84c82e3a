/** The three IPv4 blocks reserved for documentation (RFC 5737): never routed anywhere. */
const DOCUMENTATION_BLOCKS = ['203.0.113', '198.51.100', '192.0.2'];

/** .1 to .254 of each documentation block: 762 addresses. */
export const DOCUMENTATION_ADDRESSES: readonly string[] = DOCUMENTATION_BLOCKS.flatMap((block) =>
  Array.from({ length: 254 }, (_, index) => `${block}.${index + 1}`),
);

/**
 * Public addresses for simulated machines. An address belongs to one instance from launch
 * until that instance is gone, as an EC2 public address does, so two live machines never
 * share one. Free addresses are handed out in turn, so a released address is reused as late
 * as possible (an agent's stale known_hosts entry meets a new machine only after a full turn).
 */
export class AddressPool {
  private readonly holders = new Map<string, string>();
  private cursor = 0;

  constructor(private readonly addresses: readonly string[] = DOCUMENTATION_ADDRESSES) {
    if (addresses.length === 0) throw new Error('an address pool needs at least one address');
  }

  /**
   * The next free address for `instanceId`, or undefined when every address is held.
   * `stillHolds` is asked about each holder met on the way: an instance that ended since
   * (its end is noticed lazily) gives its address up.
   */
  take(instanceId: string, stillHolds: (holderId: string) => boolean): string | undefined {
    for (let step = 0; step < this.addresses.length; step += 1) {
      const index = (this.cursor + step) % this.addresses.length;
      const address = this.addresses[index] as string;
      const holder = this.holders.get(address);
      if (holder !== undefined && stillHolds(holder)) continue;
      this.holders.set(address, instanceId);
      this.cursor = index + 1;
      return address;
    }
    return undefined;
  }

  /** Records a holder read back from the journal; the turn goes on after it. */
  restore(address: string, instanceId: string) {
    this.holders.set(address, instanceId);
    const index = this.addresses.indexOf(address);
    if (index >= 0) this.cursor = index + 1;
  }

  release(address: string, instanceId: string) {
    if (this.holders.get(address) === instanceId) this.holders.delete(address);
  }

  /** The instance that holds `address` now, if any. */
  holderOf(address: string): string | undefined {
    return this.holders.get(address);
  }
}
