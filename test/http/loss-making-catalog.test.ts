import { orderBody, startHarness } from '../support/harness.js';

const oldGpuPrice = { 'gpu-h100-machine': { baseFeeCents: 199, centsPerMinute: 9 } };

describe('the local storefront and a catalog that loses money', () => {
  it('refuses to start, naming the product and the duration', async () => {
    await expect(startHarness({ catalogOverride: oldGpuPrice })).rejects.toThrow(
      /gpu-h100-machine loses money on a 15-minute lease/,
    );
  });

  it('starts when the operator accepts the loss for that product, and sells at that price', async () => {
    const api = await startHarness({
      catalogOverride: oldGpuPrice,
      allowLossMakingProducts: ['gpu-h100-machine'],
    });
    try {
      const quote = await api.validate(
        orderBody({ product_id: 'gpu-h100-machine', duration_minutes: 15 }),
      );
      expect(quote.status).toBe(200);
      expect(quote.body.quote).toMatchObject({ amount_cents: 199 + 9 * 15 });
    } finally {
      await api.close();
    }
  });
});
