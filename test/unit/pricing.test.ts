import { DEFAULT_CATALOG, resolveCatalog } from '../../lambdas/core/catalog.js';
import { formatCents, quoteExtension, quoteLease } from '../../lambdas/core/pricing.js';

describe('pricing', () => {
  it('quotes 60 minutes of the bare machine at 399 cents, "3.99"', () => {
    expect(quoteLease(DEFAULT_CATALOG['bare-linux-machine'], 60)).toEqual({
      product_id: 'bare-linux-machine',
      duration_minutes: 60,
      base_fee_cents: 99,
      unit_price_cents_per_minute: 5,
      amount_cents: 399,
      amount: '3.99',
      currency: 'usd',
    });
  });

  it('quotes the GPU machine at 299 cents base plus 15 cents a minute', () => {
    const quote = quoteLease(DEFAULT_CATALOG['gpu-h100-machine'], 15);
    expect(quote.amount_cents).toBe(299 + 15 * 15);
    expect(quote.amount).toBe('5.24');
    expect(quoteLease(DEFAULT_CATALOG['gpu-h100-machine'], 360).amount).toBe('56.99');
  });

  it('prices extensions per minute without a second base fee', () => {
    expect(quoteExtension(DEFAULT_CATALOG['gpu-h100-machine'], 30)).toMatchObject({
      amount_cents: 450,
      amount: '4.50',
    });
  });

  it.each([
    [0, '0.00'],
    [5, '0.05'],
    [99, '0.99'],
    [100, '1.00'],
    [123456, '1234.56'],
  ])('formats %i cents as %s', (cents, text) => {
    expect(formatCents(cents)).toBe(text);
  });

  it('refuses to format what is not a whole number of cents', () => {
    expect(() => formatCents(1.5)).toThrow(RangeError);
    expect(() => formatCents(-1)).toThrow(RangeError);
  });

  it('follows operator overrides', () => {
    const catalog = resolveCatalog({
      'bare-linux-machine': { baseFeeCents: 0, centsPerMinute: 2 },
    });
    expect(quoteLease(catalog['bare-linux-machine'], 30).amount).toBe('0.60');
    expect(catalog['gpu-h100-machine']).toEqual(DEFAULT_CATALOG['gpu-h100-machine']);
  });
});
