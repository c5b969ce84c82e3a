import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { retryConfig } from '../adapters/aws-retry.js';
import {
  type CapacitySnapshot,
  writeCapacitySnapshot,
} from '../adapters/dynamodb/capacity-snapshot.js';
import { ec2CapacityCheck } from '../adapters/ec2/ec2-capacity.js';
import { serviceQuotaReader } from '../adapters/ec2/service-quotas.js';
import type { CapacityCheck, Clock, Logger } from '../core/ports.js';
import type { Catalog } from '../core/products.js';
import { onWorkflowLambda } from '../runtime/aws-workflow.js';
import { ec2Client } from '../runtime/parts/ec2-client.js';
import { tracedClient } from '../runtime/tracing.js';
import { capacityWatchEnvironmentSchema } from '../runtime/workflow-environment.js';

export interface WatchCapacityDependencies {
  catalog: Catalog;
  capacity: CapacityCheck;
  record: (snapshot: CapacitySnapshot) => Promise<unknown>;
  clock: Clock;
  log: Logger;
}

export interface CapacityWatchReport {
  /** What was recorded, product by product. */
  recorded: { product_id: string; available: boolean }[];
  /** Products whose check failed: their last snapshot ages until the sale stops trusting it. */
  failed: string[];
}

/**
 * Records, product by product, whether EC2 would launch it now (Capacity Blocks, zone
 * offerings, the account's vCPU quota) for its shortest lease. The functions that sell read
 * these snapshots instead of asking EC2 themselves, so none of them bundles the EC2 client.
 */
export const createWatchCapacity = (deps: WatchCapacityDependencies) => {
  // Runs every minute (locally, every second with a fast clock): it logs what changed only.
  let lastReported = '';
  return async (): Promise<CapacityWatchReport> => {
    const report: CapacityWatchReport = { recorded: [], failed: [] };
    for (const product of Object.values(deps.catalog)) {
      try {
        const availability = await deps.capacity.check(product, product.minMinutes);
        await deps.record({
          product_id: product.id,
          instance_type: product.instance.instanceType,
          lease_minutes: product.minMinutes,
          ...availability,
          checked_at: deps.clock.now().toISOString(),
        });
        report.recorded.push({ product_id: product.id, available: availability.available });
      } catch (error) {
        deps.log.error('capacity.watch_failed', {
          product: product.id,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
        report.failed.push(product.id);
      }
    }
    const summary = JSON.stringify(report);
    if (summary !== lastReported) deps.log.info('capacity.watched', { ...report });
    lastReported = summary;
    return report;
  };
};

/** Lambda entry point (an EventBridge schedule, every minute). */
export const handler = onWorkflowLambda<
  unknown,
  CapacityWatchReport,
  typeof capacityWatchEnvironmentSchema
>(
  (context) => {
    const watch = createWatchCapacity({
      catalog: context.catalog,
      capacity: ec2CapacityCheck({
        ec2: context.ec2,
        zones: context.config.MACHINE_ZONES.split(','),
        quotas: serviceQuotaReader(
          context.clients.serviceQuotas ??
            tracedClient(new ServiceQuotasClient(retryConfig('other'))),
        ),
        clock: context.clock,
      }),
      record: (snapshot) => writeCapacitySnapshot(context.db, context.config.TABLE_NAME, snapshot),
      clock: context.clock,
      log: context.log,
    });
    return async () => {
      const report = await watch();
      // The others are recorded; failing the invocation raises the function's error alarm.
      if (report.failed.length)
        throw new Error(`capacity could not be checked for ${report.failed.join(', ')}`);
      return report;
    };
  },
  { environment: capacityWatchEnvironmentSchema, ec2: ec2Client },
);
