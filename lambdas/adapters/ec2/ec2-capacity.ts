import {
  type _InstanceType,
  DescribeCapacityReservationsCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  type EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import type { Availability, CapacityCheck, Clock } from '../../core/ports.js';
import type { Product } from '../../core/products.js';
import { usableCapacityBlock } from './capacity-blocks.js';

/**
 * EC2 counts running On-Demand instances against one vCPU quota per instance-family group
 * (Service Quotas, service code `ec2`). "A fresh account's Running On-Demand P instances
 * quota is 0 vCPUs", so a GPU storefront in a new account can sell nothing until the
 * operator has an increase granted.
 */
export const ON_DEMAND_VCPU_QUOTAS = {
  standard: {
    code: 'L-1216C47A',
    name: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances',
    families: ['a', 'c', 'd', 'h', 'i', 'm', 'r', 't', 'z'],
  },
  g: { code: 'L-DB2E81BA', name: 'Running On-Demand G and VT instances', families: ['g', 'vt'] },
  inf: { code: 'L-1945791B', name: 'Running On-Demand Inf instances', families: ['inf'] },
  p: { code: 'L-417A185B', name: 'Running On-Demand P instances', families: ['p'] },
} as const;
export type QuotaGroup = keyof typeof ON_DEMAND_VCPU_QUOTAS;

/** The quota group an instance type counts against; the longest matching family prefix wins. */
export function quotaGroupOf(instanceType: string): QuotaGroup | undefined {
  const family = instanceType.split('.')[0] ?? '';
  let best: { group: QuotaGroup; length: number } | undefined;
  for (const [group, quota] of Object.entries(ON_DEMAND_VCPU_QUOTAS)) {
    for (const prefix of quota.families) {
      // "p5" is in group p, "inf2" in inf (not standard's "i"), "hpc7g" in none.
      const rest = family.slice(prefix.length);
      if (family.startsWith(prefix) && /^\d/.test(rest) && prefix.length > (best?.length ?? 0)) {
        best = { group: group as QuotaGroup, length: prefix.length };
      }
    }
  }
  return best?.group;
}

/**
 * Reads an applied EC2 quota (vCPUs) by quota code: Service Quotas' GetServiceQuota
 * (`{ ServiceCode: 'ec2', QuotaCode }` → `Quota.Value`). Undefined when it cannot be read.
 */
export type VcpuQuotaReader = (quotaCode: string) => Promise<number | undefined>;

export interface Ec2CapacityOptions {
  ec2: Pick<EC2Client, 'send'>;
  /** The Availability Zones of the subnets the stack launches into. */
  zones: readonly string[];
  /** Without one, quotas are not checked (the launch still is). */
  quotas?: VcpuQuotaReader;
  clock: Clock;
}

const RETRY_AFTER = {
  /** Quotas and zone offerings change only when the operator acts. */
  operatorAction: 3600,
  reservedCapacity: 900,
};

const vcpusOf = (instance: Instance) =>
  (instance.CpuOptions?.CoreCount ?? 0) * (instance.CpuOptions?.ThreadsPerCore ?? 1);

async function vcpusInUse(ec2: Ec2CapacityOptions['ec2'], group: QuotaGroup): Promise<number> {
  let used = 0;
  let NextToken: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'instance-state-name', Values: ['pending', 'running'] },
          {
            Name: 'instance-type',
            Values: ON_DEMAND_VCPU_QUOTAS[group].families.map((family) => `${family}*`),
          },
        ],
        ...(NextToken ? { NextToken } : {}),
      }),
    );
    for (const reservation of page.Reservations ?? []) {
      for (const instance of reservation.Instances ?? []) {
        // Spot and Capacity Block instances count against other quotas.
        if (
          instance.InstanceLifecycle === 'spot' ||
          instance.InstanceLifecycle === 'capacity-block'
        )
          continue;
        if (quotaGroupOf(instance.InstanceType ?? '') === group) used += vcpusOf(instance);
      }
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return used;
}

async function checkQuota(
  options: Ec2CapacityOptions,
  product: Product,
): Promise<Availability | 'checked' | 'unchecked'> {
  const instanceType = product.instance.instanceType;
  const group = quotaGroupOf(instanceType);
  if (!options.quotas || !group) return 'unchecked';
  const quota = ON_DEMAND_VCPU_QUOTAS[group];
  const limit = await options.quotas(quota.code);
  if (limit === undefined) return 'unchecked';
  const { InstanceTypes = [] } = await options.ec2.send(
    new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as _InstanceType] }),
  );
  const needed = InstanceTypes[0]?.VCpuInfo?.DefaultVCpus;
  if (needed === undefined) return 'unchecked';
  const used = await vcpusInUse(options.ec2, group);
  if (used + needed <= limit) return 'checked';
  return {
    available: false,
    reason:
      limit === 0
        ? `the operator's AWS account has a ${quota.name} quota of 0 vCPUs (${instanceType} needs ${needed}); the operator must request an increase`
        : `the operator's AWS account ${quota.name} quota (${limit} vCPUs, ${used} in use) has no room for another ${instanceType} (${needed} vCPUs)`,
    retryAfterSeconds: RETRY_AFTER.operatorAction,
  };
}

async function checkZoneOfferings(
  options: Ec2CapacityOptions,
  product: Product,
): Promise<Availability | 'checked'> {
  const instanceType = product.instance.instanceType;
  const { InstanceTypeOfferings = [] } = await options.ec2.send(
    new DescribeInstanceTypeOfferingsCommand({
      LocationType: 'availability-zone',
      Filters: [
        { Name: 'instance-type', Values: [instanceType] },
        { Name: 'location', Values: [...options.zones] },
      ],
    }),
  );
  if (InstanceTypeOfferings.some((offering) => options.zones.includes(offering.Location ?? '')))
    return 'checked';
  return {
    available: false,
    reason: `${instanceType} is not offered in the zones this storefront launches into (${options.zones.join(', ')})`,
    retryAfterSeconds: RETRY_AFTER.operatorAction,
  };
}

async function checkCapacityBlocks(
  options: Ec2CapacityOptions,
  product: Product,
  leaseMinutes: number,
): Promise<Availability | 'reserved' | 'fall back'> {
  const policy = product.instance.capacityBlocks;
  if (!policy) return 'fall back';
  const { CapacityReservations = [] } = await options.ec2.send(
    new DescribeCapacityReservationsCommand({
      CapacityReservationIds: policy.reservationIds,
      Filters: [{ Name: 'state', Values: ['active'] }],
    }),
  );
  const block = usableCapacityBlock(CapacityReservations, {
    now: options.clock.now(),
    leaseMinutes,
    zones: options.zones,
  });
  if (block) return 'reserved';
  if (policy.whenUnavailable === 'on-demand') return 'fall back';
  return {
    available: false,
    reason: `no reserved ${product.instance.instanceType} capacity is free for a ${leaseMinutes}-minute lease now`,
    retryAfterSeconds: RETRY_AFTER.reservedCapacity,
  };
}

/**
 * Whether EC2 would launch the product's instance now, as far as can be known before
 * trying: a free slot in one of the operator's Capacity Blocks, or else an offering of the
 * instance type in the stack's zones and room in the account's vCPU quota. A zone running
 * out of capacity at the moment of launch cannot be foreseen; that lease is refunded.
 */
export function ec2CapacityCheck(options: Ec2CapacityOptions): CapacityCheck {
  return {
    async check(product, leaseMinutes) {
      const blocks = await checkCapacityBlocks(options, product, leaseMinutes);
      if (blocks === 'reserved') return { available: true, checked: ['capacity-block'] };
      if (blocks !== 'fall back') return blocks;
      const offered = await checkZoneOfferings(options, product);
      if (offered !== 'checked') return offered;
      const quota = await checkQuota(options, product);
      if (typeof quota !== 'string') return quota;
      return {
        available: true,
        checked: quota === 'checked' ? ['zone-offerings', 'vcpu-quota'] : ['zone-offerings'],
      };
    },
  };
}
