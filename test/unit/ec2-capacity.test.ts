import {
  DescribeCapacityReservationsCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { ec2CapacityCheck, quotaGroupOf } from '../../lambdas/adapters/ec2/ec2-capacity.js';
import { cachedCapacityCheck } from '../../lambdas/core/availability.js';
import { DEFAULT_CATALOG, resolveCatalog } from '../../lambdas/core/catalog.js';
import type { Availability, CapacityCheck } from '../../lambdas/core/ports.js';

const now = new Date('2026-06-01T12:00:00Z');
const clock = { now: () => now };
const zones = ['us-east-1a', 'us-east-1b'];
const gpu = DEFAULT_CATALOG['gpu-h100-machine'];

function ec2WithGpuOffered() {
  const ec2 = mockClient(EC2Client);
  ec2.on(DescribeInstanceTypeOfferingsCommand).resolves({
    InstanceTypeOfferings: [{ InstanceType: 'p5.4xlarge', Location: 'us-east-1b' }],
  });
  ec2.on(DescribeInstanceTypesCommand).resolves({
    InstanceTypes: [{ InstanceType: 'p5.4xlarge', VCpuInfo: { DefaultVCpus: 16 } }],
  });
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  return ec2;
}

describe('quota groups', () => {
  it.each([
    ['p5.4xlarge', 'p'],
    ['p5.48xlarge', 'p'],
    ['g6e.xlarge', 'g'],
    ['vt1.3xlarge', 'g'],
    ['inf2.xlarge', 'inf'],
    ['t3.medium', 'standard'],
    ['m7i.large', 'standard'],
    ['hpc7g.4xlarge', undefined],
  ])('%s counts against %s', (instanceType, group) => {
    expect(quotaGroupOf(instanceType)).toBe(group);
  });
});

describe('the EC2 capacity check', () => {
  it('checks zone offerings and the vCPU quota, counting only on-demand instances of the group', async () => {
    const ec2 = ec2WithGpuOffered();
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              { InstanceType: 'p5.4xlarge', CpuOptions: { CoreCount: 8, ThreadsPerCore: 2 } },
              {
                InstanceType: 'p5.4xlarge',
                InstanceLifecycle: 'spot',
                CpuOptions: { CoreCount: 8, ThreadsPerCore: 2 },
              },
            ],
          },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              { InstanceType: 'g6.xlarge', CpuOptions: { CoreCount: 2, ThreadsPerCore: 2 } },
            ],
          },
        ],
      });
    const quotas: string[] = [];
    const check = ec2CapacityCheck({
      ec2: new EC2Client({ region: 'us-east-1' }),
      zones,
      quotas: async (code) => {
        quotas.push(code);
        return 32;
      },
      clock,
    });
    expect(await check.check(gpu, 60)).toEqual({
      available: true,
      checked: ['zone-offerings', 'vcpu-quota'],
    });
    expect(quotas).toEqual(['L-417A185B']);
    expect(ec2.commandCalls(DescribeInstanceTypeOfferingsCommand)[0]?.args[0].input).toEqual({
      LocationType: 'availability-zone',
      Filters: [
        { Name: 'instance-type', Values: ['p5.4xlarge'] },
        { Name: 'location', Values: zones },
      ],
    });
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(2);
  });

  it('refuses when the quota has no room, saying how much is used', async () => {
    const ec2 = ec2WithGpuOffered();
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            { InstanceType: 'p5.4xlarge', CpuOptions: { CoreCount: 8, ThreadsPerCore: 2 } },
          ],
        },
      ],
    });
    const check = ec2CapacityCheck({
      ec2: new EC2Client({ region: 'us-east-1' }),
      zones,
      quotas: async () => 16,
      clock,
    });
    expect(await check.check(gpu, 60)).toEqual({
      available: false,
      reason: expect.stringMatching(
        /quota \(16 vCPUs, 16 in use\) has no room for another p5\.4xlarge/,
      ),
      retryAfterSeconds: 3600,
    });
  });

  it('says what it could not verify when no quota reader is given', async () => {
    const ec2 = ec2WithGpuOffered();
    const check = ec2CapacityCheck({ ec2: new EC2Client({ region: 'us-east-1' }), zones, clock });
    expect(await check.check(gpu, 60)).toEqual({ available: true, checked: ['zone-offerings'] });
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
  });

  it('uses a Capacity Block with a free slot lasting past the lease, else falls back or refuses', async () => {
    const reservation = 'cr-0123456789abcdef0';
    const withBlocks = (whenUnavailable: 'fail' | 'on-demand') =>
      resolveCatalog({
        'gpu-h100-machine': {
          instance: { capacityBlocks: { reservationIds: [reservation], whenUnavailable } },
        },
      })['gpu-h100-machine'];
    const ec2 = ec2WithGpuOffered();
    const block = {
      CapacityReservationId: reservation,
      AvailabilityZone: 'us-east-1a',
      AvailableInstanceCount: 1,
      State: 'active' as const,
      EndDate: new Date(now.getTime() + 3 * 3_600_000),
    };
    ec2.on(DescribeCapacityReservationsCommand).resolves({ CapacityReservations: [block] });
    const check = ec2CapacityCheck({ ec2: new EC2Client({ region: 'us-east-1' }), zones, clock });
    expect(await check.check(withBlocks('fail'), 60)).toEqual({
      available: true,
      checked: ['capacity-block'],
    });
    // 3 h block: a 3-hour lease would run past its end (with the stop margin).
    expect(await check.check(withBlocks('fail'), 180)).toEqual({
      available: false,
      reason: 'no reserved p5.4xlarge capacity is free for a 180-minute lease now',
      retryAfterSeconds: 900,
    });
    expect(await check.check(withBlocks('on-demand'), 180)).toEqual({
      available: true,
      checked: ['zone-offerings'],
    });
  });

  it('refuses an instance type offered in none of the zones', async () => {
    const ec2 = mockClient(EC2Client);
    ec2.on(DescribeInstanceTypeOfferingsCommand).resolves({ InstanceTypeOfferings: [] });
    const check = ec2CapacityCheck({ ec2: new EC2Client({ region: 'us-east-1' }), zones, clock });
    expect(await check.check(gpu, 60)).toEqual({
      available: false,
      reason:
        'p5.4xlarge is not offered in the zones this storefront launches into (us-east-1a, us-east-1b)',
      retryAfterSeconds: 3600,
    });
  });
});

describe('the cached capacity check', () => {
  it('asks once per product and length within the ttl, again after it, and forgets failures', async () => {
    let time = 0;
    let calls = 0;
    let fail = false;
    const inner: CapacityCheck = {
      check: async (): Promise<Availability> => {
        calls += 1;
        if (fail) throw new Error('throttled');
        return { available: true, checked: [] };
      },
    };
    const cached = cachedCapacityCheck(inner, {
      ttlMs: 1000,
      clock: { now: () => new Date(time) },
    });
    await cached.check(gpu, 60);
    await cached.check(gpu, 60);
    expect(calls).toBe(1);
    await cached.check(gpu, 120);
    expect(calls).toBe(2);
    time = 1000;
    fail = true;
    await expect(cached.check(gpu, 60)).rejects.toThrow('throttled');
    fail = false;
    await cached.check(gpu, 60);
    expect(calls).toBe(4);
  });
});
