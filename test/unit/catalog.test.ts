import {
  CatalogError,
  DEFAULT_CATALOG,
  parseCatalogJson,
  resolveCatalog,
} from '../../lambdas/core/catalog.js';

describe('product catalog', () => {
  it('defaults to the documented products', () => {
    expect(resolveCatalog()).toEqual(DEFAULT_CATALOG);
    expect(DEFAULT_CATALOG['bare-linux-machine'].instance.instanceType).toBe('t3.medium');
    expect(DEFAULT_CATALOG['gpu-h100-machine'].instance.instanceType).toBe('p5.4xlarge');
  });

  it('merges partial overrides, instance settings included', () => {
    const catalog = resolveCatalog({
      'gpu-h100-machine': {
        maxMinutes: 120,
        instance: {
          capacityBlocks: { reservationIds: ['cr-0123456789abcdef0'], whenUnavailable: 'fail' },
        },
      },
    });
    expect(catalog['gpu-h100-machine'].maxMinutes).toBe(120);
    expect(catalog['gpu-h100-machine'].instance.instanceType).toBe('p5.4xlarge');
    expect(catalog['gpu-h100-machine'].instance.capacityBlocks?.whenUnavailable).toBe('fail');
  });

  it.each([
    [{ 'bare-linux-machine': { maxMinutes: 400 } }, /bare-linux-machine\.maxMinutes/],
    [{ 'bare-linux-machine': { minMinutes: 10 } }, /minMinutes/],
    [{ 'bare-linux-machine': { centsPerMinute: 0 } }, /centsPerMinute/],
    [{ 'bare-linux-machine': { minMinutes: 300, maxMinutes: 200 } }, /exceeds maxMinutes/],
    [{ 'cpu-machine': {} }, /cpu-machine|Invalid key/i],
    [{ 'bare-linux-machine': { colour: 'red' } }, /colour|Unrecognized/i],
    [
      {
        'gpu-h100-machine': {
          instance: { capacityBlocks: { reservationIds: ['x'], whenUnavailable: 'fail' } },
        },
      },
      /reservationIds/,
    ],
  ])('rejects an invalid override %j', (override, message) => {
    expect(() => resolveCatalog(override)).toThrow(CatalogError);
    expect(() => resolveCatalog(override)).toThrow(message);
  });

  it('reads the JSON form and refuses broken JSON', () => {
    expect(
      parseCatalogJson('{"bare-linux-machine":{"baseFeeCents":1}}')['bare-linux-machine']
        .baseFeeCents,
    ).toBe(1);
    expect(parseCatalogJson(undefined)).toEqual(DEFAULT_CATALOG);
    expect(() => parseCatalogJson('{nope')).toThrow('not valid JSON');
  });
});
