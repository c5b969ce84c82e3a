import { type Harness, orderBody, startHarness } from '../support/harness.js';

describe('POST /api/machines (unpaid create)', () => {
  describe('by default', () => {
    let api: Harness;
    beforeAll(async () => {
      api = await startHarness();
    });
    afterAll(() => api.close());

    it('is refused with 403 pointing at the paid endpoint, storing nothing', async () => {
      const before = await api.itemCount();
      const reply = await api.createUnpaid(orderBody());
      expect(reply.status).toBe(403);
      expect(reply.body.error).toMatch(/POST \/api\/machine\/mpp\/orders/);
      expect(await api.itemCount()).toBe(before);
    });
  });

  describe('when the operator allows it', () => {
    let api: Harness;
    beforeAll(async () => {
      api = await startHarness({ allowUnpaidCreate: true });
    });
    afterAll(() => api.close());

    it('creates a machine with management tokens, once per request_id', async () => {
      const body = orderBody();
      const first = await api.createUnpaid(body);
      const again = await api.createUnpaid(body);
      expect(first.status).toBe(202);
      expect(first.body).toMatchObject({
        status: 'provisioning',
        management: { read_token: expect.stringMatching(/^mt_read_/) },
      });
      expect((again.body as { machine_id: string }).machine_id).toBe(
        (first.body as { machine_id: string }).machine_id,
      );
      expect(again.body.management).toEqual(first.body.management);
      expect((await api.createUnpaid({ ...body, duration_minutes: 30 })).status).toBe(409);
    });

    it('extends unpaid machines without a payment', async () => {
      const created = await api.createUnpaid(orderBody());
      const machine = created.body as { machine_id: string; management: Record<string, string> };
      const reply = await api.extend(machine.machine_id, machine.management.extend_token, {
        additional_minutes: 30,
      });
      expect(reply.status).toBe(200);
      expect(reply.body.lease_minutes).toBe(90);
    });

    it('does not let a request_id used for an unpaid machine open a paid order', async () => {
      const body = orderBody();
      await api.createUnpaid(body);
      expect((await api.order(body)).status).toBe(409);
    });
  });
});
