/**
 * The benchmark's agents: a process of their own, as agents are other machines. In the
 * storefront's process their HTTP client and payment credentials took a sixth of the event
 * loop that the storefront's latencies are measured on (README "Performance").
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Mppx } from 'mppx/client';
import { testChargeClient } from '../lambdas/adapters/payments/test-method.js';
import { throwawayEd25519Key } from '../lambdas/operator/throwaway-ssh-key.js';

/** What each agent sends, again and again. */
export type AgentCall =
  | { kind: 'get'; path: string; headers?: Record<string, string> }
  /** The same JSON body every time. */
  | { kind: 'post'; path: string; body: unknown }
  /** A new order (a fresh request_id) every time, without payment. */
  | { kind: 'order'; path: string }
  /** A new order paid with the test method: 402, credential, 202. */
  | { kind: 'paid-order' };

export interface LoadJob {
  base: string;
  count: number;
  concurrency: number;
  call: AgentCall;
}

export interface LoadResult {
  p50Ms: number;
  p95Ms: number;
  perSecond: number;
  /** CPU time the agents' process spent per request (its share of the machine's cores). */
  agentCpuMs: number;
}

export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

// One key per order: many agents, each within its product's live leases per key.
export const orderBody = (product = 'bare-linux-machine', minutes = 60) => ({
  request_id: randomUUID(),
  product_id: product,
  duration_minutes: minutes,
  ssh_public_key: throwawayEd25519Key('bench'),
});

function sender(base: string, call: AgentCall): () => Promise<unknown> {
  const json = { 'content-type': 'application/json' };
  switch (call.kind) {
    case 'get':
      return () =>
        fetch(`${base}${call.path}`, { headers: call.headers ?? {} }).then((r) => r.text());
    case 'post': {
      const body = JSON.stringify(call.body);
      return () =>
        fetch(`${base}${call.path}`, { method: 'POST', headers: json, body }).then((r) => r.text());
    }
    case 'order':
      return () =>
        fetch(`${base}${call.path}`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify(orderBody()),
        }).then((r) => r.text());
    case 'paid-order': {
      const agent = Mppx.create({ methods: [testChargeClient('paid')], polyfill: false });
      return async () => {
        const response = await agent.fetch(`${base}/api/machine/mpp/orders`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify(orderBody()),
        });
        await response.text();
        if (response.status !== 202) throw new Error(`paid order answered ${response.status}`);
      };
    }
  }
}

/** `count` requests, `concurrency` at a time; each one's time from send to full answer. */
async function runLoad(job: LoadJob): Promise<LoadResult> {
  const send = sender(job.base, job.call);
  const durations: number[] = [];
  let next = 0;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < job.count) {
        next += 1;
        const t = performance.now();
        await send();
        durations.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  durations.sort((a, b) => a - b);
  return {
    p50Ms: percentile(durations, 50),
    p95Ms: percentile(durations, 95),
    perSecond: job.count / seconds,
    agentCpuMs: (cpu.user + cpu.system) / 1000 / job.count,
  };
}

type Reply = { id: number; result: LoadResult } | { id: number; error: string };

export interface Agents {
  run(job: LoadJob): Promise<LoadResult>;
  close(): void;
}

/** Starts the agents' process (this file, forked with the same loader flags). */
export function startAgents(): Agents {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--agents']);
  let nextId = 0;
  const waiting = new Map<
    number,
    { resolve: (r: LoadResult) => void; reject: (e: Error) => void }
  >();
  child.on('message', (reply: Reply) => {
    const job = waiting.get(reply.id);
    waiting.delete(reply.id);
    if ('error' in reply) job?.reject(new Error(reply.error));
    else job?.resolve(reply.result);
  });
  child.on('exit', (code) => {
    for (const job of waiting.values()) job.reject(new Error(`the agents exited (${code})`));
    waiting.clear();
  });
  return {
    run: (job) =>
      new Promise<LoadResult>((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        child.send({ id, job });
      }),
    close: () => {
      child.disconnect();
    },
  };
}

if (process.argv.includes('--agents') && process.send) {
  process.once('disconnect', () => process.exit(0));
  process.on('message', (message: { id: number; job: LoadJob }) => {
    runLoad(message.job).then(
      (result) => process.send?.({ id: message.id, result }),
      (error: unknown) => process.send?.({ id: message.id, error: String(error) }),
    );
  });
}
