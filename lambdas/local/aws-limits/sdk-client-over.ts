import type { CommandSender } from '../../runtime/runtime-clients.js';

/** The part of an AWS SDK v3 client this needs: its middleware stack and `send`. */
interface SdkClient extends CommandSender {
  middlewareStack: {
    // biome-ignore lint/suspicious/noExplicitAny: the SDK types each step's handler itself
    add(middleware: any, options: { step: 'deserialize'; priority: 'high'; name: string }): void;
  };
}

/**
 * A real AWS SDK client whose requests a local stand-in answers instead of the network: the
 * stand-in is called below the SDK's retry middleware (where the HTTP request would be sent),
 * so every throttling error it raises goes through the client's own retry strategy
 * (maxAttempts, exponential backoff with full jitter, the retry quota) exactly as on Lambda.
 * Only the wire is skipped; commands and outputs are the SDK's own objects.
 */
export function sdkClientOver<Client extends SdkClient>(
  client: Client,
  standIn: CommandSender,
  commands: ReadonlyArray<new (input: never) => object>,
): Client {
  const byName = new Map(commands.map((Command) => [Command.name, Command]));
  client.middlewareStack.add(
    (_next: unknown, context: { commandName?: string }) => async (args: { input: unknown }) => {
      const Command = byName.get(context.commandName ?? '');
      if (!Command) throw new Error(`no local stand-in for ${context?.commandName}`);
      const output = await standIn.send(new Command(args.input as never));
      return { output: { $metadata: {}, ...output }, response: {} };
    },
    { step: 'deserialize', priority: 'high', name: 'localStandIn' },
  );
  return client;
}
