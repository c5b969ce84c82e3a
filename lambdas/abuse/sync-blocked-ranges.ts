import { SSMClient } from '@aws-sdk/client-ssm';
import { WAFV2Client } from '@aws-sdk/client-wafv2';
import { retryConfig } from '../adapters/aws-retry.js';
import { readBlockedIpSets } from '../adapters/ssm/blocked-ip-sets-parameter.js';
import { WafIpSets } from '../adapters/waf/waf-ip-sets.js';
import {
  type BlockedRangesReport,
  syncBlockedRanges,
} from '../core/use-cases/sync-blocked-ranges.js';
import { blockedRangesEnvironmentSchema } from '../runtime/abuse-environment.js';
import { parseEnvironment } from '../runtime/environment-values.js';
import { jsonLogger } from '../runtime/logger.js';
import { tableStores } from '../runtime/parts/table-stores.js';
import type { FunctionRuntime } from '../runtime/runtime-clients.js';
import { startTracing, tracedClient } from '../runtime/tracing.js';

async function compose(runtime: FunctionRuntime) {
  const config = parseEnvironment(blockedRangesEnvironmentSchema, runtime.env, 'sync function');
  await startTracing();
  const clients = runtime.clients ?? {};
  const log = clients.log ?? jsonLogger();
  const clock = clients.clock ?? { now: () => new Date() };
  const region = config.IP_SETS_REGION;
  const ssm = tracedClient(new SSMClient({ region, ...retryConfig('other') }));
  const arns = await readBlockedIpSets(ssm, config.BLOCKED_IP_SETS_PARAMETER).finally(() =>
    ssm.destroy(),
  );
  return {
    blocks: tableStores({ tableName: config.TABLE_NAME, clients, clock, log }).blocks,
    firewall: new WafIpSets(
      tracedClient(new WAFV2Client({ region, ...retryConfig('other') })),
      arns,
    ),
    clock,
    log,
  };
}

function syncFunction(runtime: () => FunctionRuntime) {
  let composed: ReturnType<typeof compose> | undefined;
  return async (): Promise<BlockedRangesReport> => {
    composed ??= compose(runtime()).catch((error: unknown) => {
      composed = undefined;
      throw error;
    });
    return syncBlockedRanges(await composed);
  };
}

/**
 * Every minute: the front door's blocked-client IP sets made to hold exactly the client-range
 * blocks in force, so an expired block leaves the WAF within a minute of lapsing (the table's
 * TTL deletes the item much later). The operator command runs the same sync at once after each
 * block and unblock.
 */
export const handler = Object.assign(
  syncFunction(() => ({ env: process.env })),
  { with: (runtime: FunctionRuntime) => syncFunction(() => runtime) },
);
