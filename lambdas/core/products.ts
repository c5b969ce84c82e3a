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
}

export interface Product {
  id: ProductId;
  title: string;
  minMinutes: number;
  maxMinutes: number;
  baseFeeCents: number;
  centsPerMinute: number;
  /** Login user on the product's image; the agent's key is installed for this user. */
  username: string;
  instance: InstanceShape;
}

export type Catalog = Readonly<Record<ProductId, Product>>;
