import { offersOnlyGateway } from '../adapters/payments/offers-only-gateway.js';
import { uncheckedCapacity } from '../core/availability.js';
import { parseCatalogJson } from '../core/catalog.js';
import { deriveKeys, type StorefrontKeys } from '../core/keys.js';
import type {
  BlockStore,
  InstanceAddresses,
  LeaseWorkflow,
  MachineStore,
  OrderStore,
  RefundGateway,
} from '../core/ports.js';
import { DEFAULT_SETTINGS, type Storefront } from '../core/use-cases/storefront.js';
import { readEnvironment } from './environment.js';
import { jsonLogger } from './logger.js';
import { OPERATION_ACCESS, SWEEPER_ACCESS, SWEEPER_OPERATION_ID } from './operation-access.js';
import type { FunctionRuntime } from './runtime-clients.js';
import type { StorefrontParts } from './storefront-parts.js';
import { startTracing } from './tracing.js';

/** A port this function was not given: any use is a bug, and says which. */
function unavailable<T extends object>(operationId: string, what: string): T {
  return new Proxy({} as T, {
    get: (_target, key) => {
      if (key === 'then') return undefined;
      throw new Error(`${operationId} has no ${what} (needed ${String(key)})`);
    },
  });
}

/** Functions that take no payment give none back (and bundle no payment method). */
const noRefunds: RefundGateway = {
  refund: async () => {
    throw new Error('this function may not refund payments');
  },
};

function required<T>(part: T | undefined, operationId: string, name: string): T {
  if (!part)
    throw new Error(
      `${operationId} is granted ${name} (operation-access.ts) but its entry wires no ${name} part`,
    );
  return part;
}

/**
 * The composition root of every API function, on Lambda and locally alike: configuration
 * from the function's environment, secrets read once per container, and only the adapters
 * this operation is granted (OPERATION_ACCESS) and its entry bundles (parts). Local runs
 * differ only in `runtime.clients` (endpoints, clock).
 */
export async function composeStorefront(
  parts: StorefrontParts,
  runtime: FunctionRuntime,
): Promise<Storefront> {
  const config = readEnvironment(runtime.env);
  // Before any part builds its AWS clients, so that they are traced (on Lambda only).
  await startTracing();
  const operationId = config.OPERATION_ID;
  // The payment sweeper composes the same storefront as the paid operations, on a schedule.
  const access =
    operationId === SWEEPER_OPERATION_ID ? SWEEPER_ACCESS : OPERATION_ACCESS[operationId];
  if (!access) throw new Error(`unknown operation ${operationId}`);
  const clients = runtime.clients ?? {};
  const log = clients.log ?? jsonLogger();
  const clock = clients.clock ?? { now: () => new Date() };

  const storefrontSecretArn = access.secrets.includes('storefront')
    ? config.STOREFRONT_SECRET_ARN
    : undefined;
  // Only the operations that take payments hold payment keys; the others just describe the methods.
  const takesPayments = access.takesPayments === true;
  const paymentSecretArns = takesPayments ? (parts.payments?.secretArns(runtime.env) ?? []) : [];
  const wanted = [
    ...new Set([storefrontSecretArn, ...paymentSecretArns].filter((arn) => arn !== undefined)),
  ];
  if (access.publicUrl && !config.PUBLIC_URL_PARAMETER)
    throw new Error(`${operationId} is granted the public URL but given no PUBLIC_URL_PARAMETER`);
  const publicUrlParameter = access.publicUrl ? config.PUBLIC_URL_PARAMETER : undefined;
  const [values, publicBaseUrl] = await Promise.all([
    wanted.length ? required(parts.secrets, operationId, 'secrets')(clients, wanted) : [],
    publicUrlParameter
      ? required(parts.publicUrl, operationId, 'publicUrl')(clients, publicUrlParameter)
      : undefined,
  ]);
  const secretValue = (arn: string | undefined) =>
    arn === undefined ? undefined : values[wanted.indexOf(arn)];
  const storefrontSecret = secretValue(storefrontSecretArn);
  const keys = storefrontSecret
    ? deriveKeys(storefrontSecret)
    : unavailable<StorefrontKeys>(operationId, 'access to the storefront secret');

  const stores =
    access.table || access.capacitySnapshots || access.blocks
      ? required(
          parts.stores,
          operationId,
          'table stores',
        )({ tableName: config.TABLE_NAME, clients, clock, log })
      : undefined;
  const leases =
    access.workflow && config.STATE_MACHINE_ARN
      ? required(
          parts.leases,
          operationId,
          'lease workflow',
        )({ stateMachineArn: config.STATE_MACHINE_ARN, clients, log })
      : unavailable<LeaseWorkflow>(operationId, 'lease workflow');
  const paid =
    takesPayments && stores
      ? required(parts.payments, operationId, 'payments').build({
          config,
          env: runtime.env,
          keys,
          secretValue,
          db: stores.db,
          clock,
          clients,
        })
      : { payments: offersOnlyGateway(config.PAYMENT_METHODS), refunds: noRefunds };
  const capacity = (access.capacitySnapshots && stores?.capacity) || uncheckedCapacity;
  const instances = access.instances
    ? required(parts.instances, operationId, 'instances')(clients)
    : unavailable<InstanceAddresses>(operationId, 'access to EC2');
  return {
    settings: {
      ...DEFAULT_SETTINGS,
      catalog: parseCatalogJson(config.PRODUCT_CATALOG),
      keys,
      allowUnpaidCreate: config.ALLOW_UNPAID_MACHINE_CREATE,
      refundUnusedMinutes: config.REFUND_UNUSED_MINUTES,
      provisioningTimeoutMinutes: config.PROVISIONING_TIMEOUT_MINUTES,
      retentionDays: config.RETENTION_DAYS,
      provider: clients.provider ?? 'aws-ec2',
      ...(publicBaseUrl ? { publicBaseUrl } : {}),
      ...(config.ACCEPTABLE_USE_POLICY
        ? { acceptableUsePolicy: config.ACCEPTABLE_USE_POLICY }
        : {}),
    },
    orders:
      (access.table && stores?.orders) ||
      unavailable<OrderStore>(operationId, 'order table access'),
    machines:
      (access.table && stores?.machines) ||
      unavailable<MachineStore>(operationId, 'machine table access'),
    leases,
    ...paid,
    capacity,
    blocks:
      (access.blocks && stores?.blocks) || unavailable<BlockStore>(operationId, 'access to blocks'),
    liveLeasesOfKey:
      (access.blocks && stores?.liveLeasesOfKey) ||
      (async () => {
        throw new Error(`${operationId} has no access to the live-leases index`);
      }),
    instances,
    clock,
    log,
  };
}
