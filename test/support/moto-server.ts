import { type ChildProcess, spawn } from 'node:child_process';

export interface MotoServer {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * moto's standalone server (`moto_server`, a Python tool) speaking EC2, Secrets Manager and
 * Step Functions on a free local port; undefined where it is not installed.
 */
export async function startMotoServer(timeoutMs = 60_000): Promise<MotoServer | undefined> {
  let child: ChildProcess;
  try {
    child = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch {
    return undefined;
  }
  const endpoint = await new Promise<string | undefined>((resolve) => {
    let output = '';
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  if (!endpoint) {
    await close();
    return undefined;
  }
  return { endpoint, close };
}
