import { GetParameterCommand, ParameterNotFound } from '@aws-sdk/client-ssm';
import type { CommandSender } from '../runtime/runtime-clients.js';

/** Systems Manager Parameter Store as the functions call it (GetParameter), serving values by name. */
export function localParameterStore(parameters: ReadonlyMap<string, string>): CommandSender & {
  /** How many GetParameter calls it has answered (bench: what one lease costs). */
  calls(): number;
} {
  let calls = 0;
  return {
    calls: () => calls,
    async send(command: unknown) {
      calls += 1;
      if (!(command instanceof GetParameterCommand))
        throw new Error('the local Parameter Store answers GetParameter only');
      const name = command.input.Name ?? '';
      const value = parameters.get(name);
      if (value === undefined)
        throw new ParameterNotFound({ message: `parameter ${name} not found`, $metadata: {} });
      return { Parameter: { Name: name, Type: 'String', Value: value, Version: 1 } };
    },
  };
}
