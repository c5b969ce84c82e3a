import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ON_DEMAND_VCPU_QUOTAS } from '../../lambdas/adapters/ec2/ec2-capacity.js';
import { DEFAULT_CATALOG } from '../../lambdas/core/catalog.js';
import type { CapacityCheck } from '../../lambdas/core/ports.js';
import { localServiceQuotas } from '../../lambdas/local/local-service-quotas.js';
import { SimulatedEc2 } from '../../lambdas/local/simulated-ec2.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';
import type { CapacityWatchFunctionEnvironment } from '../../lambdas/runtime/workflow-environment.js';
import { createWatchCapacity, handler } from '../../lambdas/workflow/watch-capacity.js';
import { type LocalTable, localTable } from '../support/local-table.js';

const NOW = new Date('2026-11-29T10:00:00.000Z');

describe('the capacity watcher', () => {
  let table: LocalTable;
  beforeEach(async () => {
    table = await localTable();
  });
  afterEach(() => table.close());

  const snapshots = async () => {
    const { Items = [] } = await table.db.send(new ScanCommand({ TableName: table.tableName }));
    return Items.sort((a, b) => String(a.pk).localeCompare(String(b.pk)));
  };

  it('writes one snapshot per product of the catalog, through its own entry and environment', async () => {
    const ec2 = new SimulatedEc2(() => 't3.medium', { bootMs: 0, readyMs: 0, shutdownMs: 0 });
    ec2.vcpuQuotas.set(ON_DEMAND_VCPU_QUOTAS.p.code, 0);
    const env: CapacityWatchFunctionEnvironment = {
      TABLE_NAME: table.tableName,
      MANAGED_BY: 'test-storefront',
      RETENTION_DAYS: '30',
      RECONCILE_GRACE_MINUTES: '10',
      MACHINE_ZONES: 'local-1a,local-1b',
    };
    const log = memoryLogger();
    const watch = handler.with({
      env,
      clients: {
        dynamodb: table.dynamo.clientConfig,
        ec2,
        serviceQuotas: localServiceQuotas(ec2),
        clock: { now: () => NOW },
        log,
      },
    });

    const report = await watch({});

    expect(report).toEqual({
      recorded: [
        { product_id: 'bare-linux-machine', available: true },
        { product_id: 'gpu-h100-machine', available: false },
      ],
      failed: [],
    });
    const items = await snapshots();
    expect(items).toEqual([
      expect.objectContaining({
        pk: 'CAPACITY#bare-linux-machine',
        instance_type: DEFAULT_CATALOG['bare-linux-machine'].instance.instanceType,
        lease_minutes: DEFAULT_CATALOG['bare-linux-machine'].minMinutes,
        available: true,
        checked: ['zone-offerings', 'vcpu-quota'],
        checked_at: NOW.toISOString(),
      }),
      expect.objectContaining({
        pk: 'CAPACITY#gpu-h100-machine',
        available: false,
        reason: expect.stringMatching(/Running On-Demand P instances quota of 0 vCPUs/),
        retryAfterSeconds: 3600,
        checked_at: NOW.toISOString(),
      }),
    ]);
    // The zones it was configured with are the ones asked about.
    expect(
      ec2.calls
        .filter((call) => call.command === 'DescribeInstanceTypeOfferingsCommand')
        .map((call) => JSON.stringify(call.input)),
    ).toEqual([
      expect.stringContaining('"Values":["local-1a","local-1b"]'),
      expect.stringContaining('"Values":["local-1a","local-1b"]'),
    ]);
  });

  it('records the other products when one check fails, and reports the failure', async () => {
    const log = memoryLogger();
    const written: string[] = [];
    const capacity: CapacityCheck = {
      check: async (product) => {
        if (product.id === 'gpu-h100-machine') throw new Error('Throttling: rate exceeded');
        return { available: true, checked: ['zone-offerings'] };
      },
    };
    const report = await createWatchCapacity({
      catalog: DEFAULT_CATALOG,
      capacity,
      record: async (snapshot) => {
        written.push(snapshot.product_id);
      },
      clock: { now: () => NOW },
      log,
    })();
    expect(report).toEqual({
      recorded: [{ product_id: 'bare-linux-machine', available: true }],
      failed: ['gpu-h100-machine'],
    });
    expect(written).toEqual(['bare-linux-machine']);
    expect(log.entries).toContainEqual(
      expect.objectContaining({ level: 'error', event: 'capacity.watch_failed' }),
    );
  });

  it('logs its findings when they change, not every minute', async () => {
    const log = memoryLogger();
    let gpuAvailable = true;
    const watch = createWatchCapacity({
      catalog: DEFAULT_CATALOG,
      capacity: {
        check: async (product) =>
          product.id === 'gpu-h100-machine' && !gpuAvailable
            ? { available: false, reason: 'no quota', retryAfterSeconds: 3600 }
            : { available: true, checked: ['zone-offerings'] },
      },
      record: async () => {},
      clock: { now: () => NOW },
      log,
    });
    const watched = () => log.entries.filter((entry) => entry.event === 'capacity.watched');
    await watch();
    await watch();
    expect(watched()).toHaveLength(1);
    gpuAvailable = false;
    await watch();
    expect(watched()).toHaveLength(2);
    expect(watched()[1]?.fields.recorded).toContainEqual({
      product_id: 'gpu-h100-machine',
      available: false,
    });
  });
});
