import type { Logger } from '../core/ports.js';
import {
  parseReadyCallbackFile,
  READY_CALL_RETRIES,
  READY_CALLBACK_FILE,
} from '../workflow/user-data.js';
import type { SimulatedEc2, SimulatedEc2Timing } from './simulated-ec2.js';

export interface SimulatedBootOptions {
  ec2: SimulatedEc2;
  /** The simulated machines' timings (clock time), the same the simulated EC2 runs on. */
  timing: SimulatedEc2Timing;
  /** The lease clock runs this many times faster than real time. */
  clockSpeedup: number;
  log: Logger;
}

/** One call of the ready endpoint by a simulated machine. */
export interface ReadyCall {
  instanceId: string;
  /** When it was sent and answered (performance.now(), real milliseconds). */
  sentAt: number;
  answeredAt: number;
  /** The HTTP status, or 0 when no answer came. */
  status: number;
}

const GONE = new Set(['shutting-down', 'terminated', 'stopping', 'stopped']);
const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/**
 * The simulated machines' boot scripts: each new instance reads its user data as cloud-init
 * would, and once it is ready (the moment its SSH banner would carry the ready marker) calls
 * the URL in its ready file with the one-time secret there, over real HTTP, retrying as the
 * real script's curl does. A machine in `neverCallsBack` is ready but never calls (no route to
 * the storefront), so the workflow's polling fallback has something to find.
 */
export class SimulatedBoot {
  /** Instances whose boot script never reaches the storefront. */
  readonly neverCallsBack = new Set<string>();
  /** Every ready call made, in order. */
  readonly calls: ReadyCall[] = [];
  private closed = false;

  constructor(private readonly options: SimulatedBootOptions) {
    options.ec2.onLaunched = (launch) => {
      this.boot(launch).catch((error: unknown) =>
        options.log.error('simulated_boot.failed', {
          instance_id: launch.instanceId,
          error: String(error),
        }),
      );
    };
    // Machines launched before a restart of the local storefront are still booting.
    for (const restored of options.ec2.restoredBoots()) {
      this.boot(restored, restored.sinceLaunchMs).catch((error: unknown) =>
        options.log.error('simulated_boot.failed', {
          instance_id: restored.instanceId,
          error: String(error),
        }),
      );
    }
  }

  close(): void {
    this.closed = true;
  }

  private realMs(clockMs: number) {
    return clockMs / this.options.clockSpeedup;
  }

  private async boot(
    launch: { instanceId: string; host: string; userData: string },
    sinceLaunchMs = 0,
  ) {
    const callback = readyCallbackOf(launch.userData);
    if (!callback) return;
    const { ec2, timing } = this.options;
    // Boot, then the user data's work (key, GPU check): the SSH banner's marker appears then.
    await sleep(this.realMs(Math.max(0, timing.bootMs + timing.readyMs - sinceLaunchMs)));
    for (;;) {
      if (this.closed) return;
      const state = ec2.instance(launch.instanceId)?.State?.Name;
      if (!state || GONE.has(state)) return;
      if (await ec2.probe(launch.host, 22)) break;
      await sleep(5);
    }
    if (this.neverCallsBack.has(launch.instanceId)) return;
    const body = '{}';
    // curl -f --retry N --retry-all-errors: any failure, 4xx included, is tried again.
    for (let attempt = 0; attempt <= READY_CALL_RETRIES.attempts && !this.closed; attempt++) {
      const sentAt = performance.now();
      let status = 0;
      try {
        const response = await fetch(callback.url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${callback.secret}`,
            'content-type': 'application/json',
          },
          body,
        });
        status = response.status;
        await response.arrayBuffer();
      } catch {
        status = 0;
      }
      this.calls.push({
        instanceId: launch.instanceId,
        sentAt,
        answeredAt: performance.now(),
        status,
      });
      if (status >= 200 && status < 300) return;
      await sleep(this.realMs(READY_CALL_RETRIES.delaySeconds * 1000));
    }
  }
}

/** The ready file in the instance's cloud-config, as the boot script reads it. */
export function readyCallbackOf(
  userDataBase64: string,
): { url: string; secret: string } | undefined {
  const text = Buffer.from(userDataBase64, 'base64').toString('utf8');
  const [header, ...rest] = text.split('\n');
  if (header !== '#cloud-config') return undefined;
  const config = JSON.parse(rest.join('\n')) as {
    write_files?: { path: string; content: string }[];
  };
  const file = config.write_files?.find((entry) => entry.path === READY_CALLBACK_FILE);
  return file ? parseReadyCallbackFile(file.content) : undefined;
}
