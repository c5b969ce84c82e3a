import type { DocumentDb } from '../adapters/dynamodb/document-client.js';
import type { StorefrontKeys } from '../core/keys.js';
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
} from '../core/ports.js';
import type { LambdaEnvironment } from './environment.js';
import type { RuntimeClients } from './runtime-clients.js';

/**
 * The adapters an API function may be built with. Each operation's entry names the parts
 * it needs (lambdas/api/<operationId>.ts), so esbuild bundles only those: health carries no
 * AWS SDK and no mppx. The composition root checks them against OPERATION_ACCESS, so an
 * entry cannot lack a part its grants call for.
 */
export interface StorefrontParts {
  secrets?: SecretsPart;
  stores?: StoresPart;
  leases?: LeasesPart;
  payments?: PaymentsPart;
  publicUrl?: PublicUrlPart;
  instances?: InstancesPart;
}

/** Instance addresses as EC2 reports them. */
export type InstancesPart = (clients: RuntimeClients) => InstanceAddresses;

/** Reads the deployment's public URL (the value of the named parameter). */
export type PublicUrlPart = (clients: RuntimeClients, parameterName: string) => Promise<string>;

/** Reads secret strings by ARN, in order. */
export type SecretsPart = (clients: RuntimeClients, secretArns: string[]) => Promise<string[]>;

export type StoresPart = (input: {
  tableName: string;
  clients: RuntimeClients;
  clock: Clock;
  log: Logger;
}) => {
  db: DocumentDb;
  orders: OrderStore;
  machines: MachineStore;
  /** Availability as the capacity watcher recorded it (read only where granted). */
  capacity: CapacityCheck;
  /** Blocks (read only where granted). */
  blocks: BlockStore;
  /** Live leases by SSH key (read only where granted, with the blocks). */
  liveLeasesOfKey: LiveLeasesOfKey;
};

export type LeasesPart = (input: {
  stateMachineArn: string;
  clients: RuntimeClients;
  log: Logger;
}) => LeaseWorkflow;

/**
 * Payments taken and given back by the accepted methods. Its secrets are named first, so the
 * composition root reads them with the storefront secret in one round.
 */
export interface PaymentsPart {
  /** The ARNs of the secrets the accepted methods read (from the function's environment). */
  secretArns(env: Readonly<Record<string, string | undefined>>): string[];
  build(input: {
    config: LambdaEnvironment;
    env: Readonly<Record<string, string | undefined>>;
    keys: StorefrontKeys;
    /** A secret's value by its ARN (one of `secretArns`). */
    secretValue: (arn: string) => string | undefined;
    db: DocumentDb;
    clock: Clock;
    clients: RuntimeClients;
  }): { payments: PaymentGateway; refunds: RefundGateway };
}
