import type { ApiFunction } from '../runtime/lambda-entry.js';
import { handler as createMachine } from './createMachine.js';
import { handler as createOrder } from './createOrder.js';
import { handler as extendMachine } from './extendMachine.js';
import { handler as getAcceptableUse } from './getAcceptableUse.js';
import { handler as getAgentGuide } from './getAgentGuide.js';
import { handler as getAgentStorefront } from './getAgentStorefront.js';
import { handler as getDiscoveryDocument } from './getDiscoveryDocument.js';
import { handler as getMachine } from './getMachine.js';
import { handler as getOrder } from './getOrder.js';
import { handler as getServiceIndex } from './getServiceIndex.js';
import { handler as health } from './health.js';
import { handler as listProducts } from './listProducts.js';
import { handler as reportMachineReady } from './reportMachineReady.js';
import { handler as terminateMachine } from './terminateMachine.js';
import { handler as validateOrder } from './validateOrder.js';

/**
 * One Lambda entry per operationId of openapi.json: the CDK stack deploys one function per
 * entry (from lambdas/api/<operationId>.ts) and the local server runs these same entries
 * with the environment the stack gives each; both refuse to start if the map and the
 * document disagree.
 */
export const OPERATION_HANDLERS: Readonly<Record<string, ApiFunction>> = {
  getDiscoveryDocument,
  health,
  createMachine,
  validateOrder,
  createOrder,
  getOrder,
  getMachine,
  terminateMachine,
  extendMachine,
  reportMachineReady,
  getServiceIndex,
  getAgentGuide,
  getAgentStorefront,
  getAcceptableUse,
  listProducts,
};
