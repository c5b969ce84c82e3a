import { orderIdFor } from '../../lambdas/core/ids.js';
import { orderFingerprint, parseCreateMachineRequest } from '../../lambdas/core/requests.js';
import { orderFixture } from '../support/fixtures.js';
import { type Harness, orderBody, startHarness } from '../support/harness.js';
import { offsetClock } from '../support/offset-clock.js';

/**
 * A crash between "order settled" and "machine created" leaves a paid order without a
 * machine. The agent's retry repairs it, but only soon after payment: an old paid order
 * whose machine is long gone must never become a new machine.
 */
describe('a paid order whose machine is missing', () => {
  let api: Harness;
  const clock = offsetClock();
  beforeAll(async () => {
    api = await startHarness({ clock });
  });
  afterAll(() => api.close());

  async function settledWithoutMachine(body: ReturnType<typeof orderBody>, machineId: string) {
    const { settings, orders } = api.storefront;
    const request = parseCreateMachineRequest(body, settings.catalog);
    const orderId = orderIdFor(request.request_id, settings.keys.orderIdKey);
    const now = clock.now();
    await orders.open(
      orderFixture(
        {
          order_id: orderId,
          request_id: request.request_id,
          fingerprint: orderFingerprint(request),
          product_id: request.product_id,
          duration_minutes: request.duration_minutes,
        },
        now,
      ),
      now,
    );
    await orders.settle(orderId, {
      payment: { method: 'test', reference: 'test_paid', receipt_header: 'receipt' },
      machineId,
      settledAt: now.toISOString(),
      checkAt: now.toISOString(),
    });
    return orderId;
  }

  it('gets its machine when the agent retries soon after paying', async () => {
    const body = orderBody();
    await settledWithoutMachine(body, 'machine_00000000c0ffee00');
    const retry = await api.order(body);
    expect(retry.status).toBe(202);
    expect(retry.body.machine).toMatchObject({
      machine_id: 'machine_00000000c0ffee00',
      status: 'provisioning',
    });
    expect(api.fleet.workflow.execution('machine_00000000c0ffee00')).toBeDefined();
  });

  it('is refused, not re-created, long after payment', async () => {
    const body = orderBody();
    await settledWithoutMachine(body, 'machine_00000000c0ffee01');
    clock.jump(25 * 3_600_000);
    const before = await api.itemCount();
    const retry = await api.order(body);
    expect(retry.status).toBe(409);
    expect(retry.body.error).toMatch(/no longer kept; send a new request_id/);
    expect(await api.itemCount()).toBe(before);
    expect(
      await api.storefront.machines.get('machine_00000000c0ffee01', new Date(0)),
    ).toBeUndefined();
  });
});
