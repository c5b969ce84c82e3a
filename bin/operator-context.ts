import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { SFNClient, type SFNClientConfig } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { WAFV2Client } from '@aws-sdk/client-wafv2';
import { DynamoBlockStore } from '../lambdas/adapters/dynamodb/block-store.js';
import { documentClient } from '../lambdas/adapters/dynamodb/document-client.js';
import { DynamoMachineStore } from '../lambdas/adapters/dynamodb/machine-store.js';
import { DynamoOrderStore } from '../lambdas/adapters/dynamodb/order-store.js';
import { readBlockedIpSets } from '../lambdas/adapters/ssm/blocked-ip-sets-parameter.js';
import { WafIpSets } from '../lambdas/adapters/waf/waf-ip-sets.js';
import { StepFunctionsLeaseWorkflow } from '../lambdas/adapters/workflow/step-functions-lease-workflow.js';
import type { Logger } from '../lambdas/core/ports.js';
import { syncBlockedRanges } from '../lambdas/core/use-cases/sync-blocked-ranges.js';
import type { LocalEndpoints } from '../lambdas/local/local-storefront.js';
import type { OperatorContext } from '../lambdas/operator/operator-commands.js';
import { cdkJsonContext, readConfig } from '../lib/config.js';
import { WEB_ACL_REGION } from '../lib/waf.js';

const LOCAL = {
  region: 'local',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};

/**
 * The operator command's stores: the storefront's own adapters on its table, and the lease
 * workflows woken through Step Functions (SendTaskSuccess with the lease's task token, as
 * DELETE wakes them). With endpoints: the storefront `npm start` runs; without: AWS, with the
 * caller's credentials and region.
 */
export function operatorContext(options: {
  tableName: string;
  publicUrl: string;
  operator: string;
  log: Logger;
  dynamodb?: DynamoDBClientConfig;
  stepFunctions?: SFNClientConfig;
  /** The us-east-1 parameter naming the front door's blocked-client IP sets (a deployed stack). */
  blockedIpSetsParameter?: string;
}): OperatorContext & { close(): void } {
  const db = documentClient(options.dynamodb ?? {});
  const sfn = new SFNClient(options.stepFunctions ?? {});
  const config = readConfig(cdkJsonContext());
  const blocks = new DynamoBlockStore(db, options.tableName);
  const clock = { now: () => new Date() };
  const parameter = options.blockedIpSetsParameter;
  // The same sync the stack runs every minute, with the operator's credentials, in us-east-1.
  const syncFrontDoor = parameter
    ? async () => {
        const ssm = new SSMClient({ region: WEB_ACL_REGION });
        const waf = new WAFV2Client({ region: WEB_ACL_REGION });
        try {
          const firewall = new WafIpSets(waf, await readBlockedIpSets(ssm, parameter));
          return await syncBlockedRanges({ blocks, firewall, clock, log: options.log });
        } finally {
          ssm.destroy();
          waf.destroy();
        }
      }
    : undefined;
  return {
    blocks,
    machines: new DynamoMachineStore(db, options.tableName),
    orders: new DynamoOrderStore(db, options.tableName),
    // Waking needs only the task token the lease holds, not the state machine's ARN.
    leases: new StepFunctionsLeaseWorkflow(sfn, '', options.log),
    // The prices the stack was deployed with (this checkout's cdk.json): `unused` refunds by them.
    catalog: config.catalog,
    publicUrl: options.publicUrl,
    operator: options.operator,
    clock,
    log: options.log,
    findingPolicy: {
      typePrefixes: config.abuseFindings.types,
      minSeverity: config.abuseFindings.minSeverity,
    },
    ...(syncFrontDoor ? { syncFrontDoor } : {}),
    close: () => {
      db.destroy();
      sfn.destroy();
    },
  };
}

/** The same, on the storefront `npm start` runs (its data directory's endpoints.json). */
export const localOperatorContext = (endpoints: LocalEndpoints, operator: string, log: Logger) =>
  operatorContext({
    tableName: endpoints.tableName,
    publicUrl: endpoints.publicUrl,
    operator,
    log,
    dynamodb: { ...LOCAL, endpoint: endpoints.dynamodb },
    stepFunctions: { ...LOCAL, endpoint: endpoints.stepFunctions },
  });
