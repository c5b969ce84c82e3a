import { readSecretString, secretsManager } from '../../adapters/secrets/secrets-manager.js';
import type { SecretsPart } from '../storefront-parts.js';
import { tracedClient } from '../tracing.js';

/** Reads the function's secrets from Secrets Manager, once per container. */
export const secretsManagerSecrets: SecretsPart = async (clients, secretArns) => {
  const client = clients.secretsManager ?? tracedClient(secretsManager());
  try {
    return await Promise.all(secretArns.map((arn) => readSecretString(client, arn)));
  } finally {
    if (!clients.secretsManager) client.destroy?.();
  }
};
