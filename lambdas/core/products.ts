/** The product ids are fixed by the public contract; everything else about a product is configuration. */
export const PRODUCT_IDS = ['bare-linux-machine', 'gpu-h100-machine'] as const;
export type ProductId = (typeof PRODUCT_IDS)[number];

/** The contract bounds every product's lease duration to this range. */
export const CONTRACT_MIN_MINUTES = 15;
export const CONTRACT_MAX_MINUTES = 360;

export interface CapacityBlockPolicy {
  /** EC2 Capacity Block reservation ids (cr-…) the operator bought for this product. */
  reservationIds: string[];
  /** What to do when no listed block is active with a free slot long enough for the lease. */
  whenUnavailable: 'on-demand' | 'fail';
}

export interface InstanceShape {
  instanceType: string;
  /** Public SSM parameter that resolves to the AMI id in the deploying region. */
  imageParameter: string;
  /** Root volume size in GiB. */
  rootVolumeGiB: number;
  capacityBlocks?: CapacityBlockPolicy;
  /**
   * Lets the machine send mail (outbound TCP 25, 465, 587). Off by default: a security group
   * without those ports (lib/compute.ts), since spam draws abuse reports against the account.
   */
  allowOutboundSmtp?: boolean;
}

/** What must be true on the machine before it is reported active. */
export interface Readiness {
  /**
   * A GPU whose name (as `nvidia-smi` prints it) contains this text must be listed;
   * absent for machines without a GPU.
   */
  gpuModel?: string;
}

/** What taking one payment costs: a percentage of the amount plus a fixed fee. */
export interface PaymentFee {
  /** Names the fee schedule, e.g. "Stripe, US cards". */
  name: string;
  percent: number;
  fixedCents: number;
  /** The smallest amount the method can charge. */
  minimumChargeCents: number;
}

/**
 * What a lease costs the operator. Prices are checked against it: a catalog whose price
 * does not cover cost + payment fee at some allowed duration is refused.
 */
export interface UnitEconomics {
  /** The instance's on-demand price, in cents per hour (fractions allowed). */
  instanceCentsPerHour: number;
  /** Where `instanceCentsPerHour` comes from (price list, region, date read). */
  costSource: string;
  /** The root volume's price, in cents per GiB-month. */
  volumeCentsPerGiBMonth: number;
  /** Minutes the instance runs that no lease pays for: boot, readiness, shutdown. */
  unbilledMinutes: number;
  paymentFee: PaymentFee;
}

export interface Product {
  id: ProductId;
  title: string;
  minMinutes: number;
  maxMinutes: number;
  /** The shortest extension sold (a payment's fixed fee must be covered by what it buys). */
  minExtensionMinutes: number;
  /**
   * Blast radius per buyer: the most live leases of this product one SSH key may hold; the
   * next order is refused with 429 before any challenge (refuse-blocked-buyer.ts).
   */
  maxLiveLeasesPerKey: number;
  baseFeeCents: number;
  centsPerMinute: number;
  /** Login user on the product's image; the agent's key is installed for this user. */
  username: string;
  instance: InstanceShape;
  readiness: Readiness;
  economics: UnitEconomics;
}

export type Catalog = Readonly<Record<ProductId, Product>>;
