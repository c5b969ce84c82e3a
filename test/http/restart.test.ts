import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buyMachine, startHarness } from '../support/harness.js';

describe('the local storefront across a restart', () => {
  it('keeps orders, machines and tokens, and ends leases whose simulated machine is gone', async () => {
    const dataDirectory = mkdtempSync(join(tmpdir(), 'storefront-data-'));
    const first = await startHarness({ dataDirectory });
    const lease = await buyMachine(first);
    await first.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
    await first.close();

    const second = await startHarness({ dataDirectory });
    try {
      const machine = await second.machine(lease.machineId, lease.tokens.read_token);
      expect(machine.status).toBe(200);
      expect(machine.body).toMatchObject({
        status: 'terminated',
        terminated_at: expect.any(String),
      });
      const order = await second.getOrder(lease.orderId);
      expect(order.body).toMatchObject({ status: 'settled', machine_id: lease.machineId });
      expect(second.log.entries.map((entry) => entry.event)).toContain('lease.ended_by_restart');
    } finally {
      await second.close();
    }
  });
});
