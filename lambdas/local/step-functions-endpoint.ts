import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import type { CommandSender } from '../runtime/runtime-clients.js';

/**
 * The local Step Functions over HTTP, for other processes (the operator command): the AWS JSON
 * protocol (`X-Amz-Target: AWSStepFunctions.<Action>`, a JSON body), so an SFNClient given
 * this endpoint wakes a local lease exactly as it wakes a deployed one. SendTaskSuccess only:
 * that is what waking a lease takes.
 */
export async function startStepFunctionsEndpoint(
  sfn: CommandSender,
  host = '127.0.0.1',
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answer = (status: number, body: object) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(JSON.stringify(body));
      };
      const target = String(request.headers['x-amz-target'] ?? '');
      if (target !== 'AWSStepFunctions.SendTaskSuccess') {
        answer(400, { __type: 'UnknownOperationException', message: `${target} is not served` });
        return;
      }
      let input: { taskToken?: string; output?: string };
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        answer(400, { __type: 'SerializationException', message: 'body is not JSON' });
        return;
      }
      sfn
        .send(new SendTaskSuccessCommand({ taskToken: input.taskToken, output: input.output }))
        .then(() => answer(200, {}))
        .catch((error: unknown) =>
          answer(400, { __type: 'TaskDoesNotExist', message: String(error) }),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    endpoint: `http://${host}:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
