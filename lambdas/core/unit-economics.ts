import type { Catalog, Product, ProductId } from './products.js';

/** One sale and what it leaves the operator, in (fractional) cents. */
export interface SaleMargin {
  product_id: ProductId;
  kind: 'lease' | 'extension';
  minutes: number;
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

/** The shortest extension that can be sold: the product's limit, or the method's minimum charge. */
export function shortestExtension(product: Product): number {
  const byCharge = Math.ceil(
    product.economics.paymentFee.minimumChargeCents / product.centsPerMinute,
  );
  return Math.max(product.minExtensionMinutes, byCharge, 1);
}

/** Every sale the catalog allows for this product: each lease length and each extension length. */
export function allSales(product: Product): SaleMargin[] {
  const sales: SaleMargin[] = [];
  for (let minutes = product.minMinutes; minutes <= product.maxMinutes; minutes++) {
    sales.push(leaseMargin(product, minutes));
  }
  const longestExtension = product.maxMinutes - product.minMinutes;
  for (let minutes = shortestExtension(product); minutes <= longestExtension; minutes++) {
    sales.push(extensionMargin(product, minutes));
  }
  return sales;
}

/** The first sale of each product that does not cover its cost and fee, if any. */
export function lossMakingSales(catalog: Catalog): SaleMargin[] {
  return Object.values(catalog).flatMap((product) => {
    const loss = allSales(product).find((sale) => sale.margin_cents <= 0);
    return loss ? [loss] : [];
  });
}

const dollars = (cents: number) => `$${(cents / 100).toFixed(2)}`;

export function describeLoss(sale: SaleMargin): string {
  return `${sale.product_id} loses money on a ${sale.minutes}-minute ${sale.kind}: price ${dollars(sale.price_cents)} < AWS cost ${dollars(sale.cost_cents)} + payment fee ${dollars(sale.fee_cents)}`;
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
): void {
  const losses = lossMakingSales(catalog).filter(
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
