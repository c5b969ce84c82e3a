/**
 * npm run bench: measures the local storefront (in memory, one process, real HTTP):
 * request latency and throughput per endpoint, the paid-order round trip, how long a lease
 * takes from paid to active, the lease's timing targets (bench-lease-timing.ts), and each
 * function bundle's size and cold import time (`npm run bench -- --bundles-only` for those alone).
 * Numbers depend on the machine; compare runs on the same one.
 */
import { randomUUID } from 'node:crypto';
import { Mppx } from 'mppx/client';
import { testChargeClient } from '../lambdas/adapters/payments/test-method.js';
import { DEFAULT_CATALOG } from '../lambdas/core/catalog.js';
import type { Logger } from '../lambdas/core/ports.js';
import { marginTable } from '../lambdas/core/unit-economics.js';
import { startLocalStorefront } from '../lambdas/local/local-storefront.js';
import { throwawayEd25519Key } from '../lambdas/operator/throwaway-ssh-key.js';
import { benchBundles } from './bench-bundles.js';
import { benchLeaseTiming, formatLeaseTiming } from './bench-lease-timing.js';
import { benchScale } from './bench-scale.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// biome-ignore lint/suspicious/noExplicitAny: benchmark responses are read loosely
type Body = Record<string, any>;

const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const key = throwawayEd25519Key('bench');
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function measure(
  name: string,
  count: number,
  concurrency: number,
  call: (i: number) => Promise<unknown>,
) {
  const durations: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await call(i);
        durations.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  durations.sort((a, b) => a - b);
  console.info(
    `${name.padEnd(46)} n=${String(count).padStart(4)} c=${String(concurrency).padStart(2)}  p50 ${percentile(durations, 50).toFixed(1).padStart(6)} ms  p95 ${percentile(durations, 95).toFixed(1).padStart(6)} ms  ${(count / seconds).toFixed(0).padStart(5)} req/s`,
  );
}

const orderBody = (product = 'bare-linux-machine', minutes = 60) => ({
  request_id: randomUUID(),
  product_id: product,
  duration_minutes: minutes,
  ssh_public_key: key,
});

/** Unit economics of the default catalog: the same table as README's "Prices and margins". */
function printPriceMargins() {
  console.info('\nPrices and margins (default catalog; cost = instance + root volume):');
  console.info(marginTable(DEFAULT_CATALOG));
}

async function main() {
  // The per-client limits would throttle the benchmark itself (one client, many requests).
  const running = await startLocalStorefront({
    port: 0,
    log: quiet,
    // Background jobs that on AWS are functions of their own (reconciler, payment sweeper) stay
    // off: the request latencies measured here are the API functions'.
    reconcileEveryMs: 0,
    sweepEveryMs: 0,
    rateLimits: false,
  });
  const base = running.url;
  const agent = Mppx.create({ methods: [testChargeClient('paid')], polyfill: false });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as Body,
    }));
  const pay = (body: unknown) =>
    agent
      .fetch(`${base}/api/machine/mpp/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      .then(async (response) => (await response.json()) as Body);

  console.info(`Local storefront at ${base} (in memory); ${new Date().toISOString()}\n`);
  await measure('GET /api/health', 500, 10, () =>
    fetch(`${base}/api/health`).then((r) => r.text()),
  );
  await measure('GET /api/products (price list)', 300, 10, () =>
    fetch(`${base}/api/products`).then((r) => r.text()),
  );
  await measure('GET /llms.txt (agent guide)', 300, 10, () =>
    fetch(`${base}/llms.txt`).then((r) => r.text()),
  );
  await measure('POST /orders/validate', 300, 10, () =>
    post('/api/machine/mpp/orders/validate', orderBody()),
  );
  await measure('POST /orders without payment (402)', 200, 10, () =>
    post('/api/machine/mpp/orders', orderBody()),
  );
  await measure('paid order, 402 + credential + 202', 100, 1, () => pay(orderBody()));
  await measure('paid order, 402 + credential + 202', 100, 10, () => pay(orderBody()));
  const retryBody = orderBody();
  const bought = await pay(retryBody);
  await measure('identical retry of a paid order (202)', 200, 10, () =>
    post('/api/machine/mpp/orders', retryBody),
  );
  const machine = bought.machine as { machine_id: string; management: { read_token: string } };
  const read = () =>
    fetch(`${base}/api/machines/${machine.machine_id}`, {
      headers: { authorization: `Bearer ${machine.management.read_token}` },
    }).then((r) => r.text());
  await measure('GET /api/machines/{id} (read token)', 500, 10, read);

  console.info(
    '\nPaid to active (default local timings: boot 1.5 s, ready +1 s, then the machine calls back):',
  );
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    const order = await pay(orderBody());
    const paidAt = performance.now();
    const lease = order.machine as { machine_id: string; management: { read_token: string } };
    for (;;) {
      const status = await fetch(`${base}/api/machines/${lease.machine_id}`, {
        headers: { authorization: `Bearer ${lease.management.read_token}` },
      }).then(async (r) => ((await r.json()) as { status: string }).status);
      if (status === 'active') break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    waits.push(performance.now() - paidAt);
  }
  waits.sort((a, b) => a - b);
  console.info(
    `  ${waits.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(', ')}  (median ${(percentile(waits, 50) / 1000).toFixed(2)} s)`,
  );
  await running.close();

  console.info(
    '\nLease timing (ready -> active, state transitions of a plain lease, terminate after expiry):',
  );
  console.info(formatLeaseTiming(await benchLeaseTiming()));
}

/** `--scale N`: only the scale run (N leases at once under AWS's limits), its figures one a line. */
async function scaleOnly(leases: number) {
  console.info(`Scale: ${leases} leases at once under AWS's documented limits (simulated)`);
  const figures = await benchScale(leases, { detail: (line) => console.info(line) });
  for (const [name, value] of Object.entries(figures)) console.info(`${name.padEnd(32)} ${value}`);
}

const scaleFlag = process.argv.indexOf('--scale');
if (scaleFlag >= 0) {
  const leases = Number(process.argv[scaleFlag + 1]);
  if (!Number.isInteger(leases) || leases < 1)
    throw new Error('--scale takes a number of leases, e.g. --scale 1000');
  await scaleOnly(leases);
} else {
  printPriceMargins();
  if (!process.argv.includes('--bundles-only')) await main();
  await benchBundles();
}
