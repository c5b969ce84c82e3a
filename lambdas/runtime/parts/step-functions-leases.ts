import { SFNClient } from '@aws-sdk/client-sfn';
import { retryConfig } from '../../adapters/aws-retry.js';
import { StepFunctionsLeaseWorkflow } from '../../adapters/workflow/step-functions-lease-workflow.js';
import type { LeasesPart } from '../storefront-parts.js';
import { tracedClient } from '../tracing.js';

/** Lease workflows as Step Functions executions of the stack's state machine. */
export const stepFunctionsLeases: LeasesPart = ({ stateMachineArn, clients, log }) =>
  new StepFunctionsLeaseWorkflow(
    clients.stepFunctions ??
      tracedClient(new SFNClient({ ...retryConfig('stepFunctions'), cacheMiddleware: true })),
    stateMachineArn,
    log,
  );
