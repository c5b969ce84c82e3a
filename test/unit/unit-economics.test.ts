import { readFileSync } from 'node:fs';
import { DEFAULT_CATALOG, resolveCatalog } from '../../lambdas/core/catalog.js';
import {
  allSales,
  assertCatalogCoversCosts,
  costCentsPerMinute,
  earlyTerminationMargin,
  extensionMargin,
  leaseMargin,
  lossMakingSales,
  marginTable,
  shortestExtension,
  UnprofitableCatalogError,
} from '../../lambdas/core/unit-economics.js';

const gpu = DEFAULT_CATALOG['gpu-h100-machine'];
const bare = DEFAULT_CATALOG['bare-linux-machine'];

describe('unit economics', () => {
  it('costs a minute as instance plus root volume', () => {
    // p5.4xlarge $6.88/h plus 200 GiB of gp3 at $0.08 per GiB-month (730 hours).
    expect(costCentsPerMinute(gpu)).toBeCloseTo((688 + (200 * 8) / 730) / 60, 10);
  });

  it('charges a lease for its unbilled boot and shutdown minutes and the card fee', () => {
    const sale = leaseMargin(gpu, 60);
    expect(sale.price_cents).toBe(299 + 15 * 60);
    expect(sale.cost_cents).toBeCloseTo(costCentsPerMinute(gpu) * (60 + 12), 10);
    expect(sale.fee_cents).toBeCloseTo(1199 * 0.029 + 30, 10);
    expect(sale.margin_cents).toBeCloseTo(sale.price_cents - sale.cost_cents - sale.fee_cents, 10);
  });

  it('makes money on every default lease and extension length', () => {
    expect(lossMakingSales(DEFAULT_CATALOG)).toEqual([]);
    for (const product of Object.values(DEFAULT_CATALOG)) {
      const sales = allSales(product);
      expect(sales.filter((sale) => sale.kind === 'lease')).toHaveLength(
        product.maxMinutes - product.minMinutes + 1,
      );
      expect(sales.every((sale) => sale.margin_cents > 0)).toBe(true);
    }
  });

  it('finds the old GPU price (199¢ + 9¢/min) loses money, at the shortest lease first', () => {
    const old = resolveCatalog({ 'gpu-h100-machine': { baseFeeCents: 199, centsPerMinute: 9 } });
    const [loss, ...others] = lossMakingSales(old);
    expect(others).toEqual([]);
    expect(loss).toMatchObject({ product_id: 'gpu-h100-machine', kind: 'lease', minutes: 15 });
    expect(() => assertCatalogCoversCosts(old)).toThrow(UnprofitableCatalogError);
    expect(() => assertCatalogCoversCosts(old)).toThrow(/gpu-h100-machine .* 15-minute lease/);
    expect(() => assertCatalogCoversCosts(old, ['gpu-h100-machine'])).not.toThrow();
    expect(() => assertCatalogCoversCosts(old, ['bare-linux-machine'])).toThrow(/gpu-h100-machine/);
  });

  it('checks extensions, whose fixed card fee is paid again', () => {
    expect(shortestExtension(gpu)).toBe(15);
    expect(extensionMargin(gpu, 15).margin_cents).toBeGreaterThan(0);
    // Short GPU extensions cannot carry the 30¢ fee: allowing them makes the catalog lose money.
    const short = resolveCatalog({ 'gpu-h100-machine': { minExtensionMinutes: 4 } });
    expect(lossMakingSales(short)).toEqual([
      expect.objectContaining({ kind: 'extension', minutes: 4 }),
    ]);
    // The card minimum (50¢) bounds the bare product's shortest extension.
    expect(shortestExtension(bare)).toBe(10);
  });

  it('keeps a margin when a lease is terminated early and its unused minutes refunded', () => {
    // The worst case: the longest GPU lease (largest card fee, which stays paid), terminated
    // at the minimum: kept 299¢ + 15 × 15¢, while the card fee is on the whole 360 minutes.
    const worst = earlyTerminationMargin(gpu, 360, 15);
    expect(worst.price_cents).toBe(299 + 15 * 15);
    expect(worst.fee_cents).toBeCloseTo((299 + 15 * 360) * 0.029 + 30, 10);
    expect(worst.margin_cents).toBeGreaterThan(0);
    expect(
      allSales(gpu).filter((sale) => sale.kind === 'early termination').length,
    ).toBeGreaterThan(0);
    // Refunding unused minutes makes a thin catalog lose money where keeping them does not:
    // the check follows the operator's switch.
    const thin = resolveCatalog({ 'gpu-h100-machine': { baseFeeCents: 250 } });
    expect(lossMakingSales(thin, { refundUnusedMinutes: false })).toEqual([]);
    expect(lossMakingSales(thin)).toEqual([
      expect.objectContaining({ kind: 'early termination', product_id: 'gpu-h100-machine' }),
    ]);
    expect(() => assertCatalogCoversCosts(thin)).toThrow(/terminated after \d+ minutes/);
  });

  it('follows an operator cost override (another region, another instance price)', () => {
    const dearer = resolveCatalog({
      'bare-linux-machine': { economics: { instanceCentsPerHour: 400 } },
    });
    // The shortest lease still pays (its base fee carries it); longer ones do not.
    expect(lossMakingSales(dearer)).toEqual([
      expect.objectContaining({ product_id: 'bare-linux-machine', kind: 'lease', minutes: 22 }),
    ]);
    expect(leaseMargin(dearer['bare-linux-machine'], 15).margin_cents).toBeGreaterThan(0);
  });

  it('tabulates price, cost and margin at 15, 60 and 360 minutes', () => {
    const table = marginTable(DEFAULT_CATALOG).split('\n');
    expect(table).toHaveLength(2 + 6);
    expect(table).toContain('| bare-linux-machine | 60 | $3.99 | $0.05 | $0.42 | $3.53 |');
    expect(table.find((line) => line.startsWith('| gpu-h100-machine | 15 |'))).toMatch(
      /\| \$5\.24 \|/,
    );
  });
});

describe("README's Prices and margins table", () => {
  it('is the table the code computes', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const cells = (line: string) =>
      line
        .split('|')
        .map((cell) => cell.trim())
        .filter(Boolean)
        .join('|');
    const section = readme.slice(readme.indexOf('## Prices and margins'));
    const documented = section
      .split('\n')
      .filter((line) => /^\| (bare-linux-machine|gpu-h100-machine) +\| +\d+ /.test(line))
      .map(cells);
    const computed = marginTable(DEFAULT_CATALOG).split('\n').slice(2).map(cells);
    expect(documented).toEqual(computed);
  });
});
