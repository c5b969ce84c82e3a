import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { retryConfig } from '../aws-retry.js';

/** Reads a secret's string once per container; the value never leaves memory. */
export async function readSecretString(
  client: Pick<SecretsManagerClient, 'send'>,
  secretArn: string,
): Promise<string> {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!SecretString) throw new Error(`secret ${secretArn} has no string value`);
  return SecretString;
}

export const secretsManager = () => new SecretsManagerClient(retryConfig('other'));
