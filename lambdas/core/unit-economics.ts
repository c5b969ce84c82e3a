import type { Catalog, Product, ProductId } from './products.js';

/** One sale and what it leaves the operator, in (fractional) cents. */
export interface SaleMargin {
  product_id: ProductId;
  kind: 'lease' | 'extension' | 'early termination';
  minutes: number;
  /** For an early termination: the minutes used (started) before it; the rest were refunded. */
  used_minutes?: number;
  price_cents: number;
  /** Instance and root volume for the minutes the instance runs (unbilled ones included). */
  cost_cents: number;
  fee_cents: number;
  margin_cents: number;
}

const HOURS_PER_MONTH = 730;

/** What one minute of the product's instance, root volume included, costs the operator. */
export function costCentsPerMinute(product: Product): number {
  const { economics, instance } = product;
  const volumePerHour =
    (instance.rootVolumeGiB * economics.volumeCentsPerGiBMonth) / HOURS_PER_MONTH;
  return (economics.instanceCentsPerHour + volumePerHour) / 60;
}

function margin(
  product: Product,
  kind: SaleMargin['kind'],
  minutes: number,
  priceCents: number,
  runMinutes: number,
): SaleMargin {
  const { paymentFee } = product.economics;
  const fee = (priceCents * paymentFee.percent) / 100 + paymentFee.fixedCents;
  const cost = costCentsPerMinute(product) * runMinutes;
  return {
    product_id: product.id,
    kind,
    minutes,
    price_cents: priceCents,
    cost_cents: cost,
    fee_cents: fee,
    margin_cents: priceCents - cost - fee,
  };
}

/** A lease of `minutes`: the instance also runs, unpaid, while it boots and shuts down. */
export const leaseMargin = (product: Product, minutes: number): SaleMargin =>
  margin(
    product,
    'lease',
    minutes,
    product.baseFeeCents + product.centsPerMinute * minutes,
    minutes + product.economics.unbilledMinutes,
  );

/** An extension is a payment of its own: its fixed fee is paid again. */
export const extensionMargin = (product: Product, minutes: number): SaleMargin =>
  margin(product, 'extension', minutes, product.centsPerMinute * minutes, minutes);

/**
 * A lease of `minutes` terminated after `usedMinutes` started minutes: its unused whole minutes
 * are refunded (`unusedMinutesRefund`, lambdas/core/machine.ts), while the payment fee on the
 * whole price stays paid (card networks keep it on refunds) and the instance ran the used
 * minutes plus the unbilled ones. Kept: the base fee and at least the minimum lease.
 */
export function earlyTerminationMargin(
  product: Product,
  minutes: number,
  usedMinutes: number,
): SaleMargin {
  const full = leaseMargin(product, minutes);
  const keptMinutes = Math.min(minutes, Math.max(usedMinutes, product.minMinutes));
  const refunded = (minutes - keptMinutes) * product.centsPerMinute;
  const cost = costCentsPerMinute(product) * (usedMinutes + product.economics.unbilledMinutes);
  return {
    ...full,
    kind: 'early termination',
    used_minutes: usedMinutes,
    price_cents: full.price_cents - refunded,
    cost_cents: cost,
    margin_cents: full.price_cents - refunded - cost - full.fee_cents,
  };
}

/** The shortest extension that can be sold: the product's limit, or the method's minimum charge. */
export function shortestExtension(product: Product): number {
  const byCharge = Math.ceil(
    product.economics.paymentFee.minimumChargeCents / product.centsPerMinute,
  );
  return Math.max(product.minExtensionMinutes, byCharge, 1);
}

export interface SalesOptions {
  /** Early terminations refund unused minutes (`storefront:refundUnusedMinutes`); default on. */
  refundUnusedMinutes?: boolean;
}

/**
 * Every sale the catalog allows for this product: each lease length, each extension length
 * and, when unused minutes are refunded, each lease length terminated after each minute.
 */
export function allSales(product: Product, options: SalesOptions = {}): SaleMargin[] {
  const sales: SaleMargin[] = [];
  for (let minutes = product.minMinutes; minutes <= product.maxMinutes; minutes++) {
    sales.push(leaseMargin(product, minutes));
  }
  const longestExtension = product.maxMinutes - product.minMinutes;
  for (let minutes = shortestExtension(product); minutes <= longestExtension; minutes++) {
    sales.push(extensionMargin(product, minutes));
  }
  if (options.refundUnusedMinutes ?? true) {
    for (let minutes = product.minMinutes; minutes <= product.maxMinutes; minutes++) {
      // The margin is linear in the used minutes below the minimum and above it: its
      // smallest value is at an end of either stretch.
      const ends = [0, product.minMinutes - 1, product.minMinutes, minutes - 1];
      for (const used of new Set(ends.filter((end) => end >= 0 && end < minutes))) {
        sales.push(earlyTerminationMargin(product, minutes, used));
      }
    }
  }
  return sales;
}

/** The first sale of each product that does not cover its cost and fee, if any. */
export function lossMakingSales(catalog: Catalog, options: SalesOptions = {}): SaleMargin[] {
  return Object.values(catalog).flatMap((product) => {
    const loss = allSales(product, options).find((sale) => sale.margin_cents <= 0);
    return loss ? [loss] : [];
  });
}

const dollars = (cents: number) => `$${(cents / 100).toFixed(2)}`;

export function describeLoss(sale: SaleMargin): string {
  const what =
    sale.kind === 'early termination'
      ? `${sale.minutes}-minute lease terminated after ${sale.used_minutes} minutes (unused minutes refunded)`
      : `${sale.minutes}-minute ${sale.kind}`;
  return `${sale.product_id} loses money on a ${what}: price ${dollars(sale.price_cents)} < AWS cost ${dollars(sale.cost_cents)} + payment fee ${dollars(sale.fee_cents)}`;
}

export class UnprofitableCatalogError extends Error {
  override name = 'UnprofitableCatalogError';
}

/**
 * Refuses a catalog that sells some lease or extension below cost + fee, naming the product
 * and the duration, unless the operator listed that product as knowingly sold at a loss.
 */
export function assertCatalogCoversCosts(
  catalog: Catalog,
  allowedAtALoss: readonly ProductId[] = [],
  options: SalesOptions = {},
): void {
  const losses = lossMakingSales(catalog, options).filter(
    (sale) => !allowedAtALoss.includes(sale.product_id),
  );
  if (losses.length) {
    throw new UnprofitableCatalogError(
      `${losses.map(describeLoss).join('; ')}. Raise the price, or list the product in the loss-making override to sell it anyway`,
    );
  }
}

/** Price, cost and margin at a few lease lengths: the README table and `npm run bench`. */
export function marginTable(catalog: Catalog, minutes: readonly number[] = [15, 60, 360]): string {
  const rows = Object.values(catalog).flatMap((product) =>
    minutes
      .filter((length) => length >= product.minMinutes && length <= product.maxMinutes)
      .map((length) => leaseMargin(product, length)),
  );
  const header = '| product | minutes | price | AWS cost | payment fee | margin |';
  const rule = '| --- | ---: | ---: | ---: | ---: | ---: |';
  const lines = rows.map(
    (row) =>
      `| ${row.product_id} | ${row.minutes} | ${dollars(row.price_cents)} | ${dollars(row.cost_cents)} | ${dollars(row.fee_cents)} | ${dollars(row.margin_cents)} |`,
  );
  return [header, rule, ...lines].join('\n');
}
