import { reportMachineReady } from '../core/use-cases/report-machine-ready.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { ec2Instances } from '../runtime/parts/ec2-instance-addresses.js';
import { stepFunctionsLeases } from '../runtime/parts/step-functions-leases.js';
import { tableStores } from '../runtime/parts/table-stores.js';

/** Called by the machine itself (its boot script), never by agents. */
export const createReportMachineReadyHandler = apiRoute(
  { operationId: 'reportMachineReady', takesBody: true },
  async ({ storefront, pathParameter, header, body }) =>
    json(
      200,
      await reportMachineReady(
        storefront,
        pathParameter('machine_id'),
        header('authorization'),
        body,
      ),
    ),
);

/** Lambda entry point, bundled with only the parts this operation uses. */
export const handler = onLambda(createReportMachineReadyHandler, {
  stores: tableStores,
  leases: stepFunctionsLeases,
  instances: ec2Instances,
});
