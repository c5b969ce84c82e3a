import { Tracer } from '@aws-lambda-powertools/tracer';
import { SERVICE_NAME } from './service-name.js';

let shared: Tracer | undefined;

/**
 * The functions' X-Ray tracer (Powertools). It traces only inside Lambda with active
 * tracing (the stack turns it on for every function); elsewhere it does nothing.
 */
export function storefrontTracer(): Tracer {
  shared ??= new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME });
  return shared;
}

/**
 * An AWS SDK v3 client whose calls appear in X-Ray as subsegments named after the service
 * (DynamoDB, Step Functions, EC2, Secrets Manager). Returns the same client.
 */
export function tracedClient<Client extends object>(
  client: Client,
  tracer: Pick<Tracer, 'captureAWSv3Client'> = storefrontTracer(),
): Client {
  return tracer.captureAWSv3Client(client);
}
