import { validate } from 'mppx/discovery';
import { type Harness, startHarness } from '../support/harness.js';

describe('GET /openapi.json (MPP discovery)', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness();
  });
  afterAll(() => api.close());

  it('serves the contract pointed at this server, valid as an MPP discovery document', async () => {
    const reply = await api.request('GET', '/openapi.json');
    expect(reply.status).toBe(200);
    expect(reply.body.servers).toEqual([{ url: api.url }]);
    expect(validate(reply.body).filter((problem) => problem.severity === 'error')).toEqual([]);
  });

  it('lists the accepted payment methods on the paid operations only', async () => {
    const { body } = await api.request('GET', '/openapi.json');
    const paths = body.paths as Record<string, Record<string, Record<string, unknown>>>;
    const offers = (path: string, method: string) =>
      (paths[path]?.[method]?.['x-payment-info'] as { offers: { method: string }[] } | undefined)
        ?.offers;
    expect(offers('/api/machine/mpp/orders', 'post')).toEqual([
      expect.objectContaining({ method: 'test', intent: 'charge', currency: 'usd', amount: null }),
    ]);
    expect(offers('/api/machines/{machine_id}/extend', 'post')).toHaveLength(1);
    expect(offers('/api/health', 'get')).toBeUndefined();
    expect(offers('/api/machine/mpp/orders/validate', 'post')).toBeUndefined();
  });
});
