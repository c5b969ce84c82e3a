import type { StorefrontKeys } from '../keys.js';
import type {
  BlockStore,
  CapacityCheck,
  Clock,
  InstanceAddresses,
  LeaseWorkflow,
  LiveLeasesOfKey,
  Logger,
  MachineStore,
  OrderStore,
  PaymentGateway,
  RefundGateway,
} from '../ports.js';
import type { Catalog } from '../products.js';

export interface StorefrontSettings {
  catalog: Catalog;
  keys: StorefrontKeys;
  /** POST /api/machines creates machines without payment only when the operator says so. */
  allowUnpaidCreate: boolean;
  /** How long an unpaid order (and its challenge) is kept before it vanishes. */
  unpaidOrderTtlHours: number;
  /** Validity of one payment challenge; renewed on a later 402 for the same order. */
  challengeValidityMinutes: number;
  provisioningTimeoutMinutes: number;
  /** Shown to agents as Machine.provider. */
  provider: string;
  /** Upper bound on one payment attempt; must exceed the handler timeout. */
  paymentLockSeconds: number;
  /** How long ended leases stay readable (days). */
  retentionDays: number;
  /**
   * Terminating a lease early gives back its unused whole minutes (the base fee and the
   * product's minimum lease stay); the operator can turn it off.
   */
  refundUnusedMinutes: boolean;
  /**
   * Public URL of the API root, as the deployment knows it (never read off a request); only
   * the functions that hand out links are given it.
   */
  publicBaseUrl?: string;
  /** The operator's acceptable-use text (GET /acceptable-use); absent: the built-in one. */
  acceptableUsePolicy?: string;
}

/** Everything a use case may touch: settings plus the ports. */
export interface Storefront {
  settings: StorefrontSettings;
  orders: OrderStore;
  machines: MachineStore;
  leases: LeaseWorkflow;
  payments: PaymentGateway;
  refunds: RefundGateway;
  /** Checked before any challenge, so nothing is sold that cannot be launched. */
  capacity: CapacityCheck;
  /** Who is refused before any challenge (refuse-blocked-buyer.ts); the operator writes them. */
  blocks: BlockStore;
  /** Counted before any challenge: a product's `maxLiveLeasesPerKey` (blast radius per buyer). */
  liveLeasesOfKey: LiveLeasesOfKey;
  /** The address a lease reports is EC2's, never what a caller says (reportMachineReady). */
  instances: InstanceAddresses;
  clock: Clock;
  log: Logger;
}

/**
 * Protocol constants. Operator settings (provisioning timeout, retention) come from cdk.json,
 * for the stack and the local storefront alike.
 */
export const DEFAULT_SETTINGS: Omit<
  StorefrontSettings,
  'catalog' | 'keys' | 'provider' | 'provisioningTimeoutMinutes' | 'retentionDays'
> = {
  refundUnusedMinutes: true,
  allowUnpaidCreate: false,
  unpaidOrderTtlHours: 24,
  challengeValidityMinutes: 15,
  paymentLockSeconds: 60,
};
