import type { Storefront } from '../core/use-cases/storefront.js';
import type { ApiHandler } from '../http/api-handler.js';
import { createCreateMachineHandler } from './createMachine.js';
import { createCreateOrderHandler } from './createOrder.js';
import { createExtendMachineHandler } from './extendMachine.js';
import { createGetAgentGuideHandler } from './getAgentGuide.js';
import { createGetDiscoveryDocumentHandler } from './getDiscoveryDocument.js';
import { createGetMachineHandler } from './getMachine.js';
import { createGetOrderHandler } from './getOrder.js';
import { createGetServiceIndexHandler } from './getServiceIndex.js';
import { createHealthHandler } from './health.js';
import { createListProductsHandler } from './listProducts.js';
import { createTerminateMachineHandler } from './terminateMachine.js';
import { createValidateOrderHandler } from './validateOrder.js';

/**
 * One handler per operationId of openapi.json. The local server routes by this map and
 * the CDK stack deploys one function per entry (from lambdas/api/lambda/<operationId>.ts);
 * both refuse to start if the map and the document disagree.
 */
export const OPERATION_HANDLERS: Readonly<Record<string, (storefront: Storefront) => ApiHandler>> =
  {
    getDiscoveryDocument: createGetDiscoveryDocumentHandler,
    health: createHealthHandler,
    createMachine: createCreateMachineHandler,
    validateOrder: createValidateOrderHandler,
    createOrder: createCreateOrderHandler,
    getOrder: createGetOrderHandler,
    getMachine: createGetMachineHandler,
    terminateMachine: createTerminateMachineHandler,
    extendMachine: createExtendMachineHandler,
    getServiceIndex: createGetServiceIndexHandler,
    getAgentGuide: createGetAgentGuideHandler,
    listProducts: createListProductsHandler,
  };
