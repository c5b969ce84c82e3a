import { LeaseLifecycleStore } from '../../lambdas/adapters/dynamodb/lease-lifecycle-store.js';
import { DynamoMachineStore } from '../../lambdas/adapters/dynamodb/machine-store.js';
import { DynamoOrderStore } from '../../lambdas/adapters/dynamodb/order-store.js';
import { paymentRefunds } from '../../lambdas/adapters/payments/refund-gateway.js';
import type { RefundGateway } from '../../lambdas/core/ports.js';
import { refundFailedLease } from '../../lambdas/core/use-cases/refund-failed-lease.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';
import { machineFixture, orderFixture } from '../support/fixtures.js';
import { type LocalTable, localTable } from '../support/local-table.js';

const now = new Date('2026-11-29T10:00:00.000Z');
const clock = { now: () => now };

describe('refunding a failed lease (dynalite)', () => {
  let table: LocalTable;
  let orders: DynamoOrderStore;
  let machines: DynamoMachineStore;
  beforeAll(async () => {
    table = await localTable();
    orders = new DynamoOrderStore(table.db, table.tableName);
    machines = new DynamoMachineStore(table.db, table.tableName);
  });
  afterAll(() => table.close());

  async function failedPaidLease(id: string) {
    const machineId = `machine_${id.padStart(16, '0')}`;
    const orderId = `order_${id.padStart(32, '0')}`;
    await orders.open(
      orderFixture({ order_id: orderId, product_id: 'gpu-h100-machine', amount_cents: 739 }, now),
      now,
    );
    await orders.settle(orderId, {
      payment: { method: 'test', reference: 'test_pay' },
      machineId,
      settledAt: now.toISOString(),
      checkAt: now.toISOString(),
    });
    await machines.create(machineFixture({ machineId, orderId, product: 'gpu-h100-machine', now }));

    const created = await machines.get(machineId, now);
    await machines.applyExtension(
      machineId,
      {
        leaseMinutesBefore: 60,
        leaseMinutes: 90,
        expiresAt: new Date(Date.parse(created?.expires_at ?? '') + 30 * 60_000).toISOString(),
      },
      {
        machine_id: machineId,
        extension_key: 'ext-1',
        additional_minutes: 30,
        lease_minutes_after: 90,
        applied_at: now.toISOString(),
        payment: { method: 'test', reference: 'test_ext' },
        amount_cents: 270,
      },
    );
    await new LeaseLifecycleStore(table.db, table.tableName, 30).markFailed(
      machineId,
      'no capacity',
      now,
    );
    return { machineId, orderId };
  }

  it('refunds the order and every paid extension once, however often it runs', async () => {
    const { machineId, orderId } = await failedPaidLease('1');
    const seen: string[] = [];
    const inner = paymentRefunds({ methods: [], clock });
    const refunds: RefundGateway = {
      refund: async (input) => {
        seen.push(input.idempotencyKey);
        return inner.refund(input);
      },
    };
    const deps = { orders, machines, refunds, clock, log: memoryLogger() };
    expect(await refundFailedLease(deps, machineId)).toMatchObject({ refunded_cents: 739 + 270 });
    expect(await refundFailedLease(deps, machineId)).toEqual({ refunded_cents: 0, refunds: [] });
    expect(seen).toEqual([`refund-${orderId}`, `refund-${machineId}-ext-1`]);
    expect((await orders.get(orderId, now))?.refund).toMatchObject({
      status: 'refunded',
      amount_cents: 739,
    });
    expect((await machines.getExtension(machineId, 'ext-1'))?.refund).toMatchObject({
      amount_cents: 270,
    });
  });

  it('refunds nothing for a lease that did not fail', async () => {
    const machineId = 'machine_00000000000000aa';
    await machines.create(machineFixture({ machineId, now }));

    const refunds: RefundGateway = {
      refund: async () => {
        throw new Error('must not refund');
      },
    };
    await expect(
      refundFailedLease({ orders, machines, refunds, clock, log: memoryLogger() }, machineId),
    ).resolves.toEqual({
      refunded_cents: 0,
      refunds: [],
    });
  });
});
