import { GetSecretValueCommand, ResourceNotFoundException } from '@aws-sdk/client-secrets-manager';
import type { CommandSender } from '../runtime/runtime-clients.js';

/** Secrets Manager as the functions call it (GetSecretValue), serving the local secrets by ARN. */
export function localSecretsManager(secrets: ReadonlyMap<string, string>): CommandSender & {
  /** How many GetSecretValue calls it has answered (bench: what one lease costs). */
  calls(): number;
} {
  let calls = 0;
  return {
    calls: () => calls,
    async send(command: unknown) {
      calls += 1;
      if (!(command instanceof GetSecretValueCommand))
        throw new Error('the local Secrets Manager answers GetSecretValue only');
      const secretId = command.input.SecretId ?? '';
      const value = secrets.get(secretId);
      if (value === undefined)
        throw new ResourceNotFoundException({
          message: `Secrets Manager can't find the specified secret ${secretId}`,
          $metadata: {},
        });
      return { ARN: secretId, SecretString: value };
    },
  };
}
