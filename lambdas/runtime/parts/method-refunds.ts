import {
  methodSecretArns,
  methodSecretValues,
  paymentMethodsInEnvironment,
} from '../../adapters/payments/payment-methods-in-environment.js';
import { paymentRefunds } from '../../adapters/payments/refund-gateway.js';
import type { Clock, RefundGateway } from '../../core/ports.js';
import type { RuntimeClients } from '../runtime-clients.js';
import { secretsManagerSecrets } from './secrets-manager-secrets.js';

/**
 * Refunds for the functions that only give money back (the workflow's refund, cleanup and
 * reconcile functions): the accepted methods as their environment configures them, with
 * the secrets each method marks for refunds, read once.
 */
export async function methodRefunds(input: {
  env: Readonly<Record<string, string | undefined>>;
  clients: RuntimeClients;
  clock: Clock;
}): Promise<RefundGateway> {
  const methods = paymentMethodsInEnvironment(input.env, 'refund');
  const arns = methodSecretArns(methods);
  const values = arns.length ? await secretsManagerSecrets(input.clients, arns) : [];
  const secretValue = (arn: string) => values[arns.indexOf(arn)];
  return paymentRefunds({
    methods: methods.map((entry) => ({
      method: entry.method,
      environment: entry.environment,
      secrets: methodSecretValues(entry, secretValue),
    })),
    clock: input.clock,
    ...(input.clients.paymentFetch ? { fetch: input.clients.paymentFetch } : {}),
  });
}
