import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { Clock, Logger, SshProbe } from '../core/ports.js';

/** Anything that sends AWS SDK v3 commands: a real client, or a local stand-in. */
export interface CommandSender {
  // biome-ignore lint/suspicious/noExplicitAny: each SDK client types its own commands
  send(command: any): Promise<any>;
  destroy?(): void;
}

/**
 * What a composition root takes from its surroundings. On Lambda every field is absent and
 * the real AWS clients are built; the local storefront and the tests give local endpoints
 * (dynalite, the local workflow runner, the simulated EC2, the local secret) and its fast
 * clock. Nothing else differs: the same entry, environment parsing and composition run.
 */
export interface RuntimeClients {
  dynamodb?: DynamoDBClientConfig;
  stepFunctions?: CommandSender;
  ec2?: CommandSender;
  secretsManager?: CommandSender;
  /** Systems Manager Parameter Store: the deployment's public URL. */
  ssm?: CommandSender;
  serviceQuotas?: CommandSender;
  /** Where payment providers' APIs are reached (stand-ins locally and in tests). */
  paymentFetch?: typeof fetch;
  sshProbe?: SshProbe;
  clock?: Clock;
  log?: Logger;
  /** Shown to agents as Machine.provider. */
  provider?: string;
}

/** One function's runtime: its environment (as the stack gives it) and its clients. */
export interface FunctionRuntime {
  env: Readonly<Record<string, string | undefined>>;
  clients?: RuntimeClients;
}
