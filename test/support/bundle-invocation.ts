import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export type InvocationOutcome =
  | { kind: 'returned'; value: unknown }
  | { kind: 'threw'; name: string; message: string };

export type Invocation = InvocationOutcome & { logs: string };

/**
 * Runs one bundle as Lambda would: a fresh Node process with only the given environment,
 * importing the .mjs `cdk synth` wrote and calling its handler once with the event.
 */
export async function invokeBundle(
  file: string,
  exportName: string,
  event: unknown,
  env: Record<string, string>,
): Promise<Invocation> {
  const script = `
    const [file, exportName, event] = JSON.parse(process.argv[1]);
    const print = (outcome) => process.stdout.write('\\n@@outcome ' + JSON.stringify(outcome) + '\\n');
    try {
      const module = await import(file);
      const value = await module[exportName](event, { awsRequestId: 'bundle-test', functionName: 'bundle-test' });
      print({ kind: 'returned', value });
    } catch (error) {
      print({ kind: 'threw', name: error?.name ?? 'Error', message: String(error?.message ?? error) });
    }
    process.exit(0);
  `;
  const { stdout } = await exec(
    process.execPath,
    ['--input-type=module', '-e', script, JSON.stringify([file, exportName, event])],
    {
      env: { PATH: process.env.PATH ?? '', ...env },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 120_000,
    },
  );
  const lines = stdout.split('\n');
  const line = lines.find((text) => text.startsWith('@@outcome '));
  if (!line) throw new Error(`the bundle printed no outcome:\n${stdout.slice(-2000)}`);
  const logs = lines.filter((text) => text && !text.startsWith('@@outcome ')).join('\n');
  return { ...(JSON.parse(line.slice('@@outcome '.length)) as InvocationOutcome), logs };
}
