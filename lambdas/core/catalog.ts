import * as z from 'zod';
import {
  type Catalog,
  CONTRACT_MAX_MINUTES,
  CONTRACT_MIN_MINUTES,
  type PaymentFee,
  PRODUCT_IDS,
  type Product,
  type ProductId,
} from './products.js';

/**
 * Stripe's standard fee for US cards, 2.9% + 30¢ per successful card charge (stripe.com/pricing,
 * read 2026-11), and its smallest charge in USD, 50¢ (Stripe docs, "Minimum and maximum
 * charge amounts"). Refunds do not return the fee.
 */
export const STRIPE_US_CARD_FEE: PaymentFee = {
  name: 'Stripe, US cards: 2.9% + 30¢',
  percent: 2.9,
  fixedCents: 30,
  minimumChargeCents: 50,
};

/** gp3 storage, us-east-1: $0.08 per GiB-month (aws.amazon.com/ebs/pricing, read 2026-11). */
const GP3_CENTS_PER_GIB_MONTH = 8;

/**
 * The one place product defaults live. Operators override any field per product
 * (CDK context `products`, or the `PRODUCT_CATALOG` environment variable locally);
 * `resolveCatalog` merges and checks the result against the contract's bounds.
 */
export const DEFAULT_CATALOG: Catalog = {
  'bare-linux-machine': {
    id: 'bare-linux-machine',
    title: 'Bare Linux machine (Ubuntu 24.04 LTS)',
    minMinutes: 15,
    maxMinutes: 360,
    minExtensionMinutes: 1,
    maxLiveLeasesPerKey: 5,
    baseFeeCents: 99,
    centsPerMinute: 5,
    username: 'ubuntu',
    instance: {
      instanceType: 't3.medium',
      imageParameter:
        '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
      rootVolumeGiB: 20,
    },
    readiness: {},
    economics: {
      instanceCentsPerHour: 4.16,
      costSource: 'AWS EC2 On-Demand pricing, t3.medium Linux, us-east-1: $0.0416/h (read 2026-11)',
      volumeCentsPerGiBMonth: GP3_CENTS_PER_GIB_MONTH,
      unbilledMinutes: 4,
      paymentFee: STRIPE_US_CARD_FEE,
    },
  },
  'gpu-h100-machine': {
    id: 'gpu-h100-machine',
    title: 'One NVIDIA H100 80 GB (p5, Deep Learning Base AMI)',
    minMinutes: 15,
    maxMinutes: 360,
    // A shorter extension would not cover the payment's fixed fee at this instance's cost.
    minExtensionMinutes: 15,
    maxLiveLeasesPerKey: 2,
    baseFeeCents: 299,
    centsPerMinute: 15,
    username: 'ubuntu',
    instance: {
      instanceType: 'p5.4xlarge',
      imageParameter:
        '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id',
      rootVolumeGiB: 200,
    },
    readiness: { gpuModel: 'H100' },
    economics: {
      instanceCentsPerHour: 688,
      costSource:
        'AWS EC2 On-Demand pricing, p5.4xlarge Linux, us-east-1: $6.88/h (one eighth of p5.48xlarge at $55.04/h; read 2026-11)',
      volumeCentsPerGiBMonth: GP3_CENTS_PER_GIB_MONTH,
      unbilledMinutes: 12,
      paymentFee: STRIPE_US_CARD_FEE,
    },
  },
};

const capacityBlocksOverride = z.strictObject({
  reservationIds: z
    .array(z.string().regex(/^cr-[0-9a-f]{8,17}$/, 'a Capacity Reservation id (cr-…)'))
    .min(1),
  whenUnavailable: z.enum(['on-demand', 'fail']),
});

const paymentFeeOverride = z.strictObject({
  name: z.string().min(1),
  percent: z.number().min(0).max(100),
  fixedCents: z.number().min(0),
  minimumChargeCents: z.number().int().min(0),
});

const economicsOverride = z.strictObject({
  instanceCentsPerHour: z.number().positive().optional(),
  costSource: z.string().min(1).optional(),
  volumeCentsPerGiBMonth: z.number().min(0).optional(),
  unbilledMinutes: z.number().min(0).max(240).optional(),
  paymentFee: paymentFeeOverride.optional(),
});

const productOverride = z.strictObject({
  title: z.string().min(1).optional(),
  minMinutes: z.number().int().min(CONTRACT_MIN_MINUTES).max(CONTRACT_MAX_MINUTES).optional(),
  maxMinutes: z.number().int().min(CONTRACT_MIN_MINUTES).max(CONTRACT_MAX_MINUTES).optional(),
  minExtensionMinutes: z.number().int().min(1).max(CONTRACT_MAX_MINUTES).optional(),
  maxLiveLeasesPerKey: z.number().int().min(1).max(1000).optional(),
  baseFeeCents: z.number().int().min(0).optional(),
  centsPerMinute: z.number().int().min(1).optional(),
  username: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a Linux user name')
    .optional(),
  instance: z
    .strictObject({
      instanceType: z
        .string()
        .regex(/^[a-z0-9-]+\.[a-z0-9-]+$/, 'an EC2 instance type')
        .optional(),
      imageParameter: z.string().startsWith('/', 'an SSM parameter name').optional(),
      rootVolumeGiB: z.number().int().min(8).max(16384).optional(),
      capacityBlocks: capacityBlocksOverride.optional(),
      allowOutboundSmtp: z.boolean().optional(),
    })
    .optional(),
  readiness: z
    .strictObject({
      // Goes into the machine's first-boot script: plain words only.
      gpuModel: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, 'a GPU model name (letters, digits, . _ -)')
        .optional(),
    })
    .optional(),
  economics: economicsOverride.optional(),
});

const catalogOverride = z.partialRecord(z.enum(PRODUCT_IDS), productOverride);
export type CatalogOverride = z.input<typeof catalogOverride>;

export class CatalogError extends Error {
  override name = 'CatalogError';
}

export function resolveCatalog(override: unknown = {}): Catalog {
  const parsed = catalogOverride.safeParse(override ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CatalogError(
      `invalid product configuration at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  const resolved = {} as Record<ProductId, Product>;
  for (const id of PRODUCT_IDS) {
    const base = DEFAULT_CATALOG[id];
    const change = parsed.data[id] ?? {};
    const product: Product = {
      ...base,
      ...change,
      id,
      instance: { ...base.instance, ...change.instance },
      readiness: { ...base.readiness, ...change.readiness },
      economics: { ...base.economics, ...change.economics },
    } as Product;
    if (product.minMinutes > product.maxMinutes) {
      throw new CatalogError(
        `invalid product configuration for ${id}: minMinutes ${product.minMinutes} exceeds maxMinutes ${product.maxMinutes}`,
      );
    }
    resolved[id] = product;
  }
  return resolved;
}

/** Parses the JSON form used in environment variables and CDK context strings. */
export function parseCatalogJson(json: string | undefined): Catalog {
  if (json === undefined || json.trim() === '') return resolveCatalog({});
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new CatalogError('product configuration is not valid JSON');
  }
  return resolveCatalog(value);
}
