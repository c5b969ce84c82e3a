/**
 * `npm run bench -- --scale N`: N leases bought at once through the local storefront (real
 * HTTP, test payments, the synthesised state machine, the simulated EC2) with AWS's documented
 * limits simulated in the local clients (EC2 request buckets, InsufficientInstanceCapacity on a
 * share of launches, StartExecution throttling, DynamoDB partition throughput), on a fast clock.
 * It waits until every lease has ended, then audits the table, the payment records and the
 * simulated fleet: money lost and instances alive past their lease must both be 0.
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { Mppx } from 'mppx/client';
import { documentClient } from '../lambdas/adapters/dynamodb/document-client.js';
import { testChargeClient } from '../lambdas/adapters/payments/test-method.js';
import type { MachineRecord } from '../lambdas/core/machine.js';
import type { OrderRecord } from '../lambdas/core/order.js';
import type { Logger } from '../lambdas/core/ports.js';
import {
  documentedLimits,
  type SimulatedAwsLimits,
} from '../lambdas/local/aws-limits/documented-limits.js';
import { LOCAL_TABLE_NAME, startLocalStorefront } from '../lambdas/local/local-storefront.js';
import { throwawayEd25519Key } from '../lambdas/operator/throwaway-ssh-key.js';

export interface ScaleFigures {
  scale_leases: number;
  scale_orders_paid: number;
  scale_machines_active: number;
  scale_refunds_owed: number;
  scale_refunds_paid: number;
  scale_money_lost: number;
  scale_instances_overdue: number;
  scale_terminate_delay_p50_ms: number;
  scale_terminate_delay_p99_ms: number;
  scale_wall_s: number;
}

export interface ScaleOptions {
  /**
   * Lease clock speed (default 10: a 15-minute lease holds 90 s). The local run's own lag (the
   * state machine, functions and tables sharing this process and its cores) is real time and
   * shows on the clock multiplied by this; at 10 a second of lag reads as 10 s of delay.
   */
  clockSpeedup?: number;
  /** The limits simulated (default: AWS's documented ones, 5% of launches without capacity). */
  limits?: SimulatedAwsLimits;
  /**
   * Paid orders in flight at once (default 8). The API and every lease share this process: more
   * requests in flight only lengthen the queue every lease step waits in, not the throughput.
   */
  concurrency?: number;
  /** Simulated boot, readiness and shutdown (clock ms; default 30 s, 20 s, 30 s as on EC2). */
  ec2Timing?: { bootMs: number; readyMs: number; shutdownMs: number };
  /** Lines describing the run (throttles, busiest partitions); default: none. */
  detail?: (line: string) => void;
}

/** "Alive past lease end + 2 min" is overdue. */
const OVERDUE_MS = 120_000;
const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const percentile = (sorted: number[], p: number) =>
  sorted.length
    ? (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0)
    : 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A replay marker of the test method is a charge taken (written when the money is "taken"). */
const TEST_CHARGE_PREFIX = 'REPLAY#test:charge:';

export async function benchScale(
  leases: number,
  options: ScaleOptions = {},
): Promise<ScaleFigures> {
  const speedup = options.clockSpeedup ?? 10;
  // The product's shortest lease.
  const leaseMinutes = 15;
  const started = performance.now();
  const running = await startLocalStorefront({
    port: 0,
    log: quiet,
    clockSpeedup: speedup,
    // One client buys everything: the per-client front-door budgets would refuse the bench itself.
    rateLimits: false,
    awsLimits: options.limits ?? documentedLimits(speedup, 0.05),
    // Enough On-Demand vCPUs for every lease (the account's quota is the operator's to raise).
    ec2Limits: { vcpuQuotas: { standard: Math.max(1024, 4 * leases) } },
    ec2Addresses: uniqueAddresses(leases + 64),
    // Clock times as on AWS (boot, readiness, shutdown) and the state machine's own polls.
    ec2Timing: options.ec2Timing ?? { bootMs: 30_000, readyMs: 20_000, shutdownMs: 30_000 },

    workflowTiming: { pollMs: Math.ceil(15_000 / speedup), retryMs: Math.ceil(5_000 / speedup) },
    // The schedules of the deployed stack (sweeper every 2 min, reconciler every 5), on the clock.
    sweepEveryMs: Math.ceil(120_000 / speedup),
    reconcileEveryMs: Math.ceil(300_000 / speedup),
  });
  const clockNow = () => running.storefront.clock.now().getTime();
  const agent = Mppx.create({ methods: [testChargeClient('paid')], polyfill: false });
  const paidMachineIds = new Set<string>();
  let answersLost = 0;
  const buy = async () => {
    const body = JSON.stringify({
      request_id: randomUUID(),
      product_id: 'bare-linux-machine',
      duration_minutes: leaseMinutes,
      // One key per agent: each within its product's live leases per key.
      ssh_public_key: throwawayEd25519Key('bench-scale'),
    });
    // An agent retries the same body (same request_id) when an answer is lost or refused.
    for (let attempt = 0; attempt < 6; attempt++) {
      try {
        const response = await agent.fetch(`${running.url}/api/machine/mpp/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const answer = (await response.json()) as { machine?: { machine_id?: string } };
        if (response.status === 202 && answer.machine?.machine_id) {
          paidMachineIds.add(answer.machine.machine_id);
          return;
        }
      } catch {
        // Retried below, as a lost answer is.
      }
      await sleep(Math.random() * 200 * 2 ** attempt);
    }
    answersLost++;
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(leases, options.concurrency ?? 8) }, async () => {
      while (next < leases) {
        next++;
        await buy();
        if (paidMachineIds.size % Math.max(1, Math.floor(leases / 10)) === 0) {
          options.detail?.(
            `  ${paidMachineIds.size} orders paid after ${((performance.now() - started) / 1000).toFixed(1)} s`,
          );
        }
      }
    }),
  );
  options.detail?.(
    `  ordering done after ${((performance.now() - started) / 1000).toFixed(1)} s (${paidMachineIds.size} answered 202, ${answersLost} never answered)`,
  );

  const db = documentClient({
    endpoint: running.dynamoEndpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const scan = async () => {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new ScanCommand({
          TableName: LOCAL_TABLE_NAME,
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  };
  const concluded = (orders: OrderRecord[], machines: Map<string, MachineRecord>) =>
    orders.every((order) => {
      const machine = order.machine_id ? machines.get(order.machine_id) : undefined;
      if (!machine || !['terminated', 'failed'].includes(machine.status)) return false;
      return Boolean(machine.activated_at) || order.refund?.status === 'refunded';
    });
  const read = async () => {
    const items = await scan();
    const orders = items.filter((item) =>
      String(item.pk).startsWith('ORDER#'),
    ) as unknown as OrderRecord[];
    const machines = new Map(
      (items.filter((item) => item.sk === 'MACHINE') as unknown as MachineRecord[]).map(
        (machine) => [machine.machine_id, machine],
      ),
    );
    const charges = items
      .filter((item) => String(item.pk).startsWith(TEST_CHARGE_PREFIX))
      .map((item) => String(item.pk).slice(TEST_CHARGE_PREFIX.length));
    return {
      orders: orders.filter((order) => order.status !== 'unpaid'),
      allOrders: orders,
      machines,
      charges,
    };
  };
  // Every lease ends (15 clock minutes after it became usable), then failed ones are refunded.
  const deadline = performance.now() + ((leaseMinutes + 10) * 60_000) / speedup + 120_000;
  let state = await read();
  while (performance.now() < deadline && !concluded(state.orders, state.machines)) {
    await sleep(1000);
    state = await read();
  }
  const wallSeconds = (performance.now() - started) / 1000;
  if (!concluded(state.orders, state.machines)) {
    const open = state.orders
      .map((order) => {
        const machine = order.machine_id ? state.machines.get(order.machine_id) : undefined;
        return `${order.order_id.slice(0, 14)} ${order.status} machine=${machine?.status ?? 'none'} activated=${Boolean(machine?.activated_at)} refund=${order.refund?.status ?? 'none'}`;
      })
      .filter((line) => !/machine=(terminated|failed) activated=true|refund=refunded/.test(line));
    options.detail?.(
      `  not concluded by the deadline (${open.length}): ${open.slice(0, 10).join('; ')}`,
    );
  }

  // Audit: every charge taken must be a settled order (or a refunded second payment), and every
  // settled order a machine that became active, or a refund paid.
  const settledByReference = new Map(
    state.allOrders
      .filter((order) => order.payment)
      .map((order) => [order.payment?.reference, order]),
  );
  const refundedDuplicates = new Set(
    state.allOrders.flatMap((order) =>
      Object.entries(order.duplicate_payments ?? {})
        .filter(([, duplicate]) => duplicate.refund?.status === 'refunded')
        .map(([reference]) => reference),
    ),
  );
  const chargesWithoutOrder = state.charges.filter((challengeId) => {
    const reference = `test_${challengeId.slice(0, 24)}`;
    return !settledByReference.has(reference) && !refundedDuplicates.has(reference);
  }).length;
  let active = 0;
  let refundsOwed = 0;
  let refundsPaid = 0;
  let unaccounted = 0;
  for (const order of state.orders) {
    const machine = order.machine_id ? state.machines.get(order.machine_id) : undefined;
    const refunded = order.refund?.status === 'refunded';
    if (machine?.activated_at) active++;
    if (machine?.status === 'failed' && !machine.activated_at) refundsOwed++;
    if (refunded) refundsPaid++;
    if (!machine?.activated_at && !refunded) unaccounted++;
  }

  const now = clockNow();
  const accepted = running.awsLimits?.terminationAcceptedAt ?? new Map<string, number>();
  const delays: number[] = [];
  let overdue = 0;
  const machineByInstance = new Map(
    [...state.machines.values()]
      .filter((machine) => machine.instance_id)
      .map((machine) => [machine.instance_id, machine]),
  );
  for (const machine of machineByInstance.values()) {
    const instanceId = machine.instance_id as string;
    const endsAt = Date.parse(machine.expires_at);
    const stoppedAt = accepted.get(instanceId);
    const state = running.fleet.ec2.instance(instanceId)?.State?.Name;
    const aliveUntil = stoppedAt ?? (state === 'terminated' ? endsAt : now);
    if (aliveUntil > endsAt + OVERDUE_MS) overdue++;
    if (machine.activated_at && stoppedAt !== undefined)
      delays.push(Math.max(0, stoppedAt - endsAt));
  }
  // Instances no lease knows of (a launch whose answer was lost) must not live on either.
  for (const instance of running.fleet.ec2.running()) {
    if (!machineByInstance.has(instance.InstanceId ?? '')) {
      const launched = instance.LaunchTime?.getTime() ?? now;
      if (now > launched + leaseMinutes * 60_000 + OVERDUE_MS) overdue++;
    }
  }
  delays.sort((a, b) => a - b);
  if (running.awsLimits && options.detail) {
    const refused = Object.entries(running.awsLimits.refused())
      .map(([reason, count]) => `${reason}: ${count}`)
      .join(', ');
    options.detail(`  refused by the simulated AWS limits: ${refused || 'nothing'}`);
    const peaks = running.awsLimits
      .dynamoPeaks()
      .slice(0, 3)
      .map((peak) => `${peak.partition} ${peak.writeUnits} WCU/s`)
      .join(', ');
    options.detail(`  busiest DynamoDB partitions (peak second): ${peaks}`);
    const reasons = new Map<string, number>();
    for (const machine of state.machines.values()) {
      if (machine.status !== 'failed') continue;
      const reason = machine.failure_reason ?? 'no reason';
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    options.detail(
      `  failed leases by reason: ${[...reasons].map(([reason, count]) => `${count}× ${reason}`).join('; ') || 'none'}`,
    );
    options.detail(
      `  charges taken ${state.charges.length}, charges without a settled order ${chargesWithoutOrder}, settled orders without machine or refund ${unaccounted}`,
    );
  }
  await running.close();
  db.destroy();
  return {
    scale_leases: leases,
    scale_orders_paid: state.orders.length,
    scale_machines_active: active,
    scale_refunds_owed: refundsOwed,
    scale_refunds_paid: refundsPaid,
    scale_money_lost: chargesWithoutOrder + unaccounted,
    scale_instances_overdue: overdue,
    scale_terminate_delay_p50_ms: Math.round(percentile(delays, 50)),
    scale_terminate_delay_p99_ms: Math.round(percentile(delays, 99)),
    scale_wall_s: Math.round(wallSeconds * 10) / 10,
  };
}

/** Distinct addresses from 198.18.0.0/15, the block reserved for benchmarks (RFC 2544). */
function uniqueAddresses(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const host = i + 1;
    return `198.${18 + (host >> 16)}.${(host >> 8) & 255}.${host & 255}`;
  });
}
