import * as z from 'zod';
import {
  type Catalog,
  CONTRACT_MAX_MINUTES,
  CONTRACT_MIN_MINUTES,
  PRODUCT_IDS,
  type Product,
  type ProductId,
} from './products.js';

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
    baseFeeCents: 99,
    centsPerMinute: 5,
    username: 'ubuntu',
    instance: {
      instanceType: 't3.medium',
      imageParameter:
        '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
      rootVolumeGiB: 20,
    },
  },
  'gpu-h100-machine': {
    id: 'gpu-h100-machine',
    title: 'One NVIDIA H100 80 GB (p5, Deep Learning Base AMI)',
    minMinutes: 15,
    maxMinutes: 360,
    baseFeeCents: 199,
    centsPerMinute: 9,
    username: 'ubuntu',
    instance: {
      instanceType: 'p5.4xlarge',
      imageParameter:
        '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id',
      rootVolumeGiB: 200,
    },
  },
};

const capacityBlocksOverride = z.strictObject({
  reservationIds: z
    .array(z.string().regex(/^cr-[0-9a-f]{8,17}$/, 'a Capacity Reservation id (cr-…)'))
    .min(1),
  whenUnavailable: z.enum(['on-demand', 'fail']),
});

const productOverride = z.strictObject({
  title: z.string().min(1).optional(),
  minMinutes: z.number().int().min(CONTRACT_MIN_MINUTES).max(CONTRACT_MAX_MINUTES).optional(),
  maxMinutes: z.number().int().min(CONTRACT_MIN_MINUTES).max(CONTRACT_MAX_MINUTES).optional(),
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
    })
    .optional(),
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
