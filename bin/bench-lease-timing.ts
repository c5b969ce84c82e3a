/**
 * The lease's timing targets, measured on the local storefront (real HTTP, the synthesised
 * state machine run locally, simulated machines that call the ready endpoint from their boot
 * script): how soon the API reports a lease active after the machine calls back, how many
 * state transitions a plain lease costs, and how soon after `expires_at` the instance is
 * terminated. `npx tsx bin/bench-lease-timing.ts` prints them; `npm run bench` includes them.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Mppx } from 'mppx/client';
import { testChargeClient } from '../lambdas/adapters/payments/test-method.js';
import { EXTENSION_SIGNAL } from '../lambdas/adapters/workflow/step-functions-lease-workflow.js';
import type { Logger } from '../lambdas/core/ports.js';
import { type RunningStorefront, startLocalStorefront } from '../lambdas/local/local-storefront.js';
import { throwawayEd25519Key } from '../lambdas/operator/throwaway-ssh-key.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface LeaseTiming {
  /** From the machine's ready callback being sent to GET /api/machines/{id} saying active. */
  ready_to_active_p95_ms: number;
  /** Every state a plain lease enters, from order to terminated, with no extension. */
  transitions_per_lease: number;
  /** From `expires_at` to TerminateInstances being called, on the lease clock. */
  terminate_after_expiry_p99_ms: number;
}

const LEASES = 20;
/** Leases bought at once while measuring ready → active (each polls its status every 5 ms). */
const AT_ONCE = 4;
const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
};

interface Lease {
  machine_id: string;
  management: { read_token: string };
}

function client(running: RunningStorefront) {
  const agent = Mppx.create({ methods: [testChargeClient('paid')], polyfill: false });
  return {
    buy: async (minutes: number): Promise<Lease> => {
      const response = await agent.fetch(`${running.url}/api/machine/mpp/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          request_id: randomUUID(),
          product_id: 'bare-linux-machine',
          duration_minutes: minutes,
          ssh_public_key: throwawayEd25519Key('bench'),
        }),
      });
      return ((await response.json()) as { machine: Lease }).machine;
    },
    status: async (lease: Lease) =>
      (
        (await (
          await fetch(`${running.url}/api/machines/${lease.machine_id}`, {
            headers: { authorization: `Bearer ${lease.management.read_token}` },
          })
        ).json()) as { status: string }
      ).status,
  };
}

/**
 * Ready → active and terminate after expiry, in real time (clock speed 1). The leases last 15
 * minutes; once all are active the clock jumps to 10 s before their ends and each hold is
 * re-armed (as an extension would wake it), so the end runs the deployed path: the hold's
 * timeout, Check lease, End lease, TerminateInstances.
 */
async function realTimeLeases() {
  let offset = 0;
  const running = await startLocalStorefront({
    port: 0,
    log: quiet,
    reconcileEveryMs: 0,
    sweepEveryMs: 0,
    rateLimits: false,
    clock: { now: () => new Date(Date.now() + offset) },
  });
  try {
    const api = client(running);
    const leases: Lease[] = [];
    const readyToActive: number[] = [];
    for (let batch = 0; batch < LEASES / AT_ONCE; batch++) {
      await Promise.all(
        Array.from({ length: AT_ONCE }, async () => {
          const lease = await api.buy(15);
          leases.push(lease);
          // The agent's view is polled only from the callback on, so that the polling itself
          // does not load the one process everything runs in.
          let instanceId: string | undefined;
          while (!instanceId) {
            await sleep(20);
            const record = await running.storefront.machines.get(lease.machine_id, new Date(0));
            instanceId = record?.instance_id;
          }
          const called = () =>
            running.fleet.boot.calls.find((candidate) => candidate.instanceId === instanceId);
          while (!called()) await sleep(1);
          while ((await api.status(lease)) !== 'active') await sleep(1);
          const seenActiveAt = performance.now();
          const call = running.fleet.boot.calls.find(
            (candidate) => candidate.instanceId === instanceId && candidate.status === 200,
          );
          if (!call) throw new Error(`${lease.machine_id} became active without its callback`);
          readyToActive.push(seenActiveAt - call.sentAt);
        }),
      );
    }

    const records = await Promise.all(
      leases.map((lease) => running.storefront.machines.get(lease.machine_id, new Date(0))),
    );
    const firstEnd = Math.min(...records.map((record) => Date.parse(record?.expires_at ?? '')));
    // Let every hold arm before the jump, then wake each to re-arm on the jumped clock.
    await sleep(200);
    offset += firstEnd - Date.now() - 10_000;
    for (const record of records) {
      const current = await running.storefront.machines.get(record?.machine_id ?? '', new Date(0));
      if (current?.wake_token)
        running.fleet.workflow.sendTaskSuccess(current.wake_token, EXTENSION_SIGNAL);
    }
    await Promise.all(
      leases.map((lease) => running.fleet.workflow.execution(lease.machine_id)?.done),
    );
    const terminateAfterExpiry = records.map((record) => {
      const call = running.fleet.ec2.calls.find(
        (candidate) =>
          candidate.command === 'TerminateInstancesCommand' &&
          JSON.stringify(candidate.input).includes(String(record?.instance_id)),
      );
      if (!call || !record) throw new Error(`no terminate for ${record?.machine_id}`);
      return call.at - Date.parse(record.expires_at);
    });
    return { readyToActive, terminateAfterExpiry };
  } finally {
    await running.close();
  }
}

/** A plain lease's transitions (the count does not depend on time, so the clock runs fast). */
async function plainLeaseTransitions(): Promise<number> {
  const running = await startLocalStorefront({
    port: 0,
    log: quiet,
    reconcileEveryMs: 0,
    sweepEveryMs: 0,
    rateLimits: false,
    clockSpeedup: 600,
    ec2Timing: { bootMs: 6_000, readyMs: 6_000, shutdownMs: 6_000 },
    workflowTiming: { pollMs: 10, retryMs: 5 },
  });
  try {
    const lease = await client(running).buy(15);
    await sleep(50);
    await running.fleet.workflow.execution(lease.machine_id)?.done;
    return running.fleet.workflow.execution(lease.machine_id)?.states.length ?? 0;
  } finally {
    await running.close();
  }
}

export async function benchLeaseTiming(): Promise<LeaseTiming> {
  const { readyToActive, terminateAfterExpiry } = await realTimeLeases();
  return {
    ready_to_active_p95_ms: Math.round(percentile(readyToActive, 95) * 10) / 10,
    transitions_per_lease: await plainLeaseTransitions(),
    terminate_after_expiry_p99_ms: Math.round(percentile(terminateAfterExpiry, 99)),
  };
}

/** The figures as the bench prints them, with the targets (issue 13). */
export function formatLeaseTiming(timing: LeaseTiming): string {
  return [
    `  ready -> active (p95 of ${LEASES} leases):         ${timing.ready_to_active_p95_ms} ms  (target <= 2000 ms)`,
    `  state transitions of a plain lease:           ${timing.transitions_per_lease}  (target <= 12)`,
    `  terminate after expires_at (p99 of ${LEASES} leases): ${timing.terminate_after_expiry_p99_ms} ms  (target <= 2000 ms)`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const timing = await benchLeaseTiming();
  console.info('Lease timing (local storefront, real HTTP, the synthesised state machine):');
  console.info(formatLeaseTiming(timing));
  console.info(JSON.stringify(timing));
}
