import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface StorefrontProcess {
  url: string;
  /** Everything the process printed, for a failing test's message. */
  output(): string;
  /** Ends the process with `signal` and waits until it is gone. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

/** A port free right now, so a restarted storefront can listen where the first one did. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * `npm start` as a separate process (one node process, so a SIGKILL ends the storefront
 * itself, as a crash would), resolved once it prints the address it serves on.
 */
export function startStorefrontProcess(options: {
  dataDirectory: string;
  port: number;
  /** `--fast-clock`: the lease clock runs this many times faster than the wall clock. */
  clockSpeedup?: number;
}): Promise<StorefrontProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      // What `npm start` runs (the bundled storefront), without npm's own process in between.
      'bin/start.mjs',
      `--data-dir=${options.dataDirectory}`,
      `--port=${options.port}`,
      // The test polls far faster than an agent may; the limits have their own tests.
      '--no-rate-limits',
      ...(options.clockSpeedup ? [`--fast-clock=${options.clockSpeedup}`] : []),
    ],
    {
      cwd: process.cwd(),
      // Jest's NODE_OPTIONS (VM modules) are not the storefront's.
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return new Promise((resolve, reject) => {
    const onOutput = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /API\s+(http:\/\/\S+)/.exec(output)?.[1];
      if (url) {
        child.stdout?.off('data', onOutput);
        child.stdout?.on('data', (more: Buffer) => {
          output += more.toString();
        });
        resolve({ url, output: () => output, stop });
      }
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`the storefront exited (${code ?? signal}) before serving:\n${output}`)),
    );
  });
}
