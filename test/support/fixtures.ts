import { issueTokens } from '../../lambdas/core/capability-tokens.js';
import { DEFAULT_CATALOG } from '../../lambdas/core/catalog.js';
import { type MachineRecord, newMachineRecord } from '../../lambdas/core/machine.js';
import type { OrderRecord } from '../../lambdas/core/order.js';
import type { ProductId } from '../../lambdas/core/products.js';

export interface MachineFixture {
  machineId?: string;
  orderId?: string;
  product?: ProductId;
  billing?: MachineRecord['billing'];
  leaseMinutes?: number;
  sshPublicKey?: string;
  now?: Date;
  /** Key the capability tokens are derived with. */
  tokenKey?: Buffer;
}

/** A machine record as the storefront creates it (provisioning), with fields overridden. */
export function machineFixture(
  options: MachineFixture = {},
  overrides: Partial<MachineRecord> = {},
): MachineRecord {
  const machineId = options.machineId ?? 'machine_0123456789abcdef';
  return {
    ...newMachineRecord({
      machineId,
      orderId: options.orderId ?? 'order_x',
      product: DEFAULT_CATALOG[options.product ?? 'bare-linux-machine'],
      billing: options.billing ?? 'paid',
      leaseMinutes: options.leaseMinutes ?? 60,
      sshPublicKey: options.sshPublicKey ?? 'ssh-ed25519 AAAA',
      provider: 'aws-ec2',
      tokens: issueTokens(options.tokenKey ?? Buffer.alloc(32), machineId),
      now: options.now ?? new Date('2026-11-29T10:00:00.000Z'),
      provisioningTimeoutMinutes: 15,
    }),
    ...overrides,
  };
}

/** An unpaid order as POST /api/machine/mpp/orders opens it (60 minutes of bare Linux by default). */
export function orderFixture(
  overrides: Partial<OrderRecord> = {},
  now = new Date('2026-11-29T10:00:00.000Z'),
): OrderRecord {
  return {
    order_id: 'order_00000000000000000000000000000001',
    request_id: '3f0c1a52-8d4e-4b1a-9c57-2b8e6f1d0a93',
    fingerprint: 'fp-1',
    product_id: 'bare-linux-machine',
    duration_minutes: 60,
    amount_cents: 399,
    currency: 'usd',
    status: 'unpaid',
    channel: 'mpp',
    created_at: now.toISOString(),
    challenge_expires_at: new Date(now.getTime() + 15 * 60_000).toISOString(),
    unpaid_expires_at: Math.floor(now.getTime() / 1000) + 86_400,
    ...overrides,
  };
}
