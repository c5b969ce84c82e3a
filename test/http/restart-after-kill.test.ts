import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Mppx as ClientMppx } from 'mppx/client';
import { testChargeClient } from '../../lambdas/adapters/payments/test-method.js';
import { contractCheckedFetch, orderBody } from '../support/harness.js';
import { ed25519Key } from '../support/ssh-keys.js';
import {
  freePort,
  type StorefrontProcess,
  startStorefrontProcess,
} from '../support/storefront-process.js';

const ORDERS = 16;
/** The storefront is killed when this many orders have been answered 202: mid-burst. */
const KILL_AFTER_PAID = 4;
/** Orders of the burst sent at the moment of the kill. */
const SENT_WITH_THE_KILL = 4;
/**
 * The lease clock of both runs (kept in the data directory across the kill) runs 30 times
 * faster: the killed run's payment locks (60 s of it) lapse in 2 s of the test's time, and
 * a machine whose ready call the kill lost is found by the polling fallback (300 s) in 10.
 */
const CLOCK_SPEEDUP = 30;
/** Bounds, not expectations: generous for a busy machine. */
const RETRY_FOR_MS = 150_000;
const SETTLE_FOR_MS = 120_000;

interface Order {
  body: ReturnType<typeof orderBody>;
  /** The `Authorization: Payment …` the agent sent, once its client made one. */
  credential?: string;
  answeredBeforeKill?: number;
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

const ORDERS_PATH = '/api/machine/mpp/orders';

/** An agent with the test method whose client remembers the credential it sends. */
function agentFor(order: Order) {
  return ClientMppx.create({
    methods: [testChargeClient('paid')],
    polyfill: false,
    fetch: (input, init) => {
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : {}));
      const authorization = headers.get('authorization');
      if (authorization?.startsWith('Payment ')) order.credential = authorization;
      return contractCheckedFetch(input, init);
    },
  });
}

async function replyOf(response: Response): Promise<Reply> {
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

/** The agent's retry after the outage: its own credential if it made one, else pay afresh. */
async function retryOrder(url: string, order: Order): Promise<Reply> {
  const deadline = Date.now() + RETRY_FOR_MS;
  for (;;) {
    const init = {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(order.credential ? { authorization: order.credential } : {}),
      },
      body: JSON.stringify(order.body),
    };
    const reply = await replyOf(
      order.credential
        ? await contractCheckedFetch(`${url}${ORDERS_PATH}`, init)
        : await agentFor(order).fetch(`${url}${ORDERS_PATH}`, init),
    );
    // 409: the killed run's payment lock on this order has not lapsed yet.
    if (reply.status !== 409 || Date.now() > deadline) return reply;
    await sleep(1_000);
  }
}

/** Where the paid lease ends up: active (resumed or started), or failed with its refund. */
async function leaseOutcome(url: string, paid: Reply): Promise<string> {
  const machine = paid.body.machine as {
    machine_id: string;
    management: { read_token: string };
  };
  const deadline = Date.now() + SETTLE_FOR_MS;
  for (;;) {
    const reply = await replyOf(
      await contractCheckedFetch(`${url}/api/machines/${machine.machine_id}`, {
        headers: { authorization: `Bearer ${machine.management.read_token}` },
      }),
    );
    const status = String(reply.body.status);
    if (status === 'active') return 'active';
    if (status === 'failed') {
      const order = await replyOf(
        await contractCheckedFetch(`${url}${ORDERS_PATH}/${paid.body.order_id}`),
      );
      return order.body.refund ? 'failed and refunded' : 'failed without a refund';
    }
    if (Date.now() > deadline) return `stuck ${status}: ${machine.machine_id}`;
    await sleep(250);
  }
}

describe('npm start killed during a burst of paid orders', () => {
  const started: StorefrontProcess[] = [];
  // Should the test itself time out, no storefront outlives it.
  afterAll(() => Promise.all(started.map((storefront) => storefront.stop('SIGKILL'))));

  it('gives every paid order its machine, or its money back, after a restart', async () => {
    const dataDirectory = mkdtempSync(join(tmpdir(), 'storefront-killed-'));
    const port = await freePort();
    const first = await startStorefrontProcess({
      dataDirectory,
      port,
      clockSpeedup: CLOCK_SPEEDUP,
    });
    started.push(first);
    const orders: Order[] = Array.from({ length: ORDERS }, () => ({
      // One key per agent: npm start keeps the default live leases per key.
      body: orderBody({ duration_minutes: 120, ssh_public_key: ed25519Key() }),
    }));
    let answered = 0;
    let killed: Promise<void> | undefined;
    const place = async (order: Order) => {
      try {
        const response = await agentFor(order).fetch(`${first.url}${ORDERS_PATH}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(order.body),
        });
        order.answeredBeforeKill = response.status;
        if (response.status === 202 && ++answered === KILL_AFTER_PAID) {
          // The last orders of the burst are sent now, the kill right after: they are in
          // flight when it lands, however fast the rest were answered.
          inFlight.push(...late.map(place));
          killed = first.stop('SIGKILL');
        }
      } catch (error) {
        // The storefront died under this request: a network failure (fetch's TypeError) once
        // the kill was sent. Anything else (a response that breaks the contract) fails the test.
        // (By name: fetch's TypeError comes from another realm than the test's.)
        if (killed !== undefined && (error as Error).name === 'TypeError') return;
        throw error;
      }
    };
    const late = orders.slice(ORDERS - SENT_WITH_THE_KILL);
    const inFlight = orders.slice(0, ORDERS - SENT_WITH_THE_KILL).map(place);
    await Promise.all(inFlight);
    // Again, now with the orders sent at the kill.
    await Promise.all(inFlight);
    await (killed ?? first.stop('SIGKILL'));
    // The kill landed mid-burst: some orders were still without their answer.
    expect(orders.filter((order) => order.answeredBeforeKill !== 202).length).toBeGreaterThan(0);

    let second: StorefrontProcess | undefined;
    try {
      second = await startStorefrontProcess({ dataDirectory, port, clockSpeedup: CLOCK_SPEEDUP });
      started.push(second);
      const url = second.url;
      const outcomes = await Promise.all(
        orders.map(async (order, index) => {
          const paid = await retryOrder(url, order);
          if (paid.status !== 202)
            return `order ${index}: ${paid.status} ${JSON.stringify(paid.body)} (credential ${order.credential ? 'sent before the kill' : 'new'})`;
          return `order ${index}: ${await leaseOutcome(url, paid)}`;
        }),
      );
      // Leases of the killed run went on in the new one.
      expect(second.output()).toContain('lease.resumed_after_restart');
      const logOf = (outcome: string) => {
        const machineId = /machine_[0-9a-f]+/.exec(outcome)?.[0];
        const lines = second?.output().split('\n') ?? [];
        return machineId ? lines.filter((line) => line.includes(machineId)) : [];
      };
      const unaccounted = outcomes
        .filter((outcome) => !/: (active|failed and refunded)$/.test(outcome))
        .map((outcome) => [outcome, ...logOf(outcome)].join('\n  '));
      // A credential consumed by the killed run before its order was settled (issue 8, item 2):
      // recovering it is the settlement attempt record's job; until then the agent is told so.
      const consumedUnsettled = unaccounted.filter((outcome) => outcome.includes('already used'));
      expect(unaccounted.filter((outcome) => !consumedUnsettled.includes(outcome))).toEqual([]);
      expect(consumedUnsettled).toEqual([]);
    } finally {
      await second?.stop('SIGTERM');
    }
  }, 420_000);
});
