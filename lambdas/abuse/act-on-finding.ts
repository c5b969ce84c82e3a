import { INSTANCE_TAGS } from '../adapters/ec2/instance-tags.js';
import type { GuardDutyFindingEvent } from '../core/abuse-findings.js';
import { acceptableUseUrl } from '../core/acceptable-use.js';
import { parseCatalogJson } from '../core/catalog.js';
import { actOnFinding, type FindingOutcome } from '../core/use-cases/act-on-finding.js';
import { findingEnvironmentSchema } from '../runtime/abuse-environment.js';
import { parseEnvironment } from '../runtime/environment-values.js';
import { jsonLogger } from '../runtime/logger.js';
import { embeddedMetrics } from '../runtime/metrics.js';
import { parameterStorePublicUrl } from '../runtime/parts/parameter-store-public-url.js';
import { stepFunctionsLeases } from '../runtime/parts/step-functions-leases.js';
import { tableStores } from '../runtime/parts/table-stores.js';
import type { FunctionRuntime } from '../runtime/runtime-clients.js';
import { startTracing } from '../runtime/tracing.js';

/** What acting on a finding needs: its table stores, the lease workflows, the policy's URL. */
async function compose(runtime: FunctionRuntime) {
  const config = parseEnvironment(findingEnvironmentSchema, runtime.env, 'finding function');
  // Before any client is built, so that they are traced (on Lambda only).
  await startTracing();
  const clients = runtime.clients ?? {};
  const log = clients.log ?? jsonLogger();
  const clock = clients.clock ?? { now: () => new Date() };
  const stores = tableStores({ tableName: config.TABLE_NAME, clients, clock, log });
  const publicUrl = await parameterStorePublicUrl(clients, config.PUBLIC_URL_PARAMETER);
  return {
    deps: {
      machines: stores.machines,
      orders: stores.orders,
      blocks: stores.blocks,
      leases: stepFunctionsLeases({ stateMachineArn: config.STATE_MACHINE_ARN, clients, log }),
      catalog: parseCatalogJson(config.PRODUCT_CATALOG),
      policyUrl: acceptableUseUrl(publicUrl),
      clock,
      log,
    },
    policy: {
      typePrefixes: config.FINDING_TYPE_PREFIXES,
      minSeverity: config.FINDING_MIN_SEVERITY,
    },
    metrics: embeddedMetrics({ Stack: config.MANAGED_BY }),
  };
}

function findingFunction(runtime: () => FunctionRuntime) {
  let composed: ReturnType<typeof compose> | undefined;
  return async (event: GuardDutyFindingEvent): Promise<FindingOutcome> => {
    composed ??= compose(runtime()).catch((error: unknown) => {
      composed = undefined;
      throw error;
    });
    const { deps, policy, metrics } = await composed;
    // An error is thrown on: Lambda retries the event, then sends it to the dead-letter queue.
    const outcome = await actOnFinding(deps, event, policy, INSTANCE_TAGS.machineId);
    // A finding about another stage's instance (the same account, its own table) finds no
    // lease here: it is not counted, so this stage's alarm does not fire for it.
    const aboutOurLease = outcome.kind === 'acted' && outcome.lease !== 'not_found';
    metrics({
      AbuseFindingsActedOn: aboutOurLease ? 1 : 0,
      LeasesEndedForAbuse: outcome.kind === 'acted' && outcome.lease === 'ended' ? 1 : 0,
    });
    return outcome;
  };
}

/**
 * A GuardDuty finding, as EventBridge delivers it (lib/abuse-findings.ts: the rule), acted on
 * by the same use case `npm run operator -- --local finding` runs: the lease is ended for
 * cause with its unused minutes refunded and its SSH key blocked. The rule already filters by
 * type and severity; the use case judges again with the same configuration.
 */
export const handler = Object.assign(
  findingFunction(() => ({ env: process.env })),
  { with: (runtime: FunctionRuntime) => findingFunction(() => runtime) },
);
