/**
 * npm run demo: an agent's whole journey against a running storefront, using only what
 * the discovery document says, paying with the test method (no money moves).
 *
 *   npm start              (in one terminal)
 *   npm run demo           (in another; --url to point elsewhere)
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Mppx } from 'mppx/client';
import { testChargeClient } from '../lambdas/adapters/payments/test-method.js';
import { throwawayEd25519Key } from '../lambdas/operator/throwaway-ssh-key.js';

const { values } = parseArgs({
  options: { url: { type: 'string', default: 'http://127.0.0.1:3000' } },
});
const base = (values.url ?? '').replace(/\/+$/, '');
const say = (step: string, detail: unknown = '') =>
  console.info(
    `${step.padEnd(28)} ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`,
  );

async function call(method: string, path: string, init: { body?: unknown; token?: string } = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Body,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: a demo reads loosely shaped JSON
type Body = Record<string, any>;

const agent = Mppx.create({ methods: [testChargeClient('paid')], polyfill: false });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const discovery = await call('GET', '/openapi.json');
const paths = discovery.body.paths as Record<string, Body>;
const [orderPath] =
  Object.entries(paths).find(([, item]) => item.post?.operationId === 'createOrder') ?? [];
say(
  'discovery',
  `${orderPath} accepts ${JSON.stringify(paths[orderPath ?? '']?.post['x-payment-info'].offers.map((offer: Body) => offer.method))}`,
);

say('health', (await call('GET', '/api/health')).body);

const order = {
  request_id: randomUUID(),
  product_id: 'bare-linux-machine',
  duration_minutes: 15,
  ssh_public_key: throwawayEd25519Key('demo-agent'),
};
const quote = await call('POST', '/api/machine/mpp/orders/validate', { body: order });
say(
  'validate',
  `${quote.body.quote.amount} ${quote.body.quote.currency} via ${quote.body.methods.join(', ')}`,
);

const unpaid = await call('POST', '/api/machine/mpp/orders', { body: order });
say(
  'order without payment',
  `${unpaid.status} ${unpaid.body.order_id} (${unpaid.headers.get('www-authenticate')?.slice(0, 60)}…)`,
);

const paidResponse = await agent.fetch(`${base}/api/machine/mpp/orders`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(order),
});
const paid = (await paidResponse.json()) as Body;
const machine = paid.machine as { machine_id: string; management: Record<string, string> };
say(
  'order paid',
  `${paidResponse.status} receipt=${paidResponse.headers.has('payment-receipt')} machine=${machine.machine_id}`,
);

let status = '';
while (status !== 'active') {
  const read = await call('GET', `/api/machines/${machine.machine_id}`, {
    token: machine.management.read_token,
  });
  status = read.body.status;
  if (status === 'active')
    say('machine active', `${read.body.ssh_command}, lease ends ${read.body.expires_at}`);
  else if (status === 'failed') throw new Error(read.body.failure_reason);
  else await sleep(500);
}

const extended = await agent.fetch(`${base}/api/machines/${machine.machine_id}/extend`, {
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    authorization: `Bearer ${machine.management.extend_token}`,
  },
  body: JSON.stringify({ additional_minutes: 15, request_id: randomUUID() }),
});
const extension = (await extended.json()) as Body;
say(
  'lease extended (paid)',
  `${extended.status} lease_minutes=${extension.lease_minutes} ends ${extension.expires_at}`,
);

const terminated = await call('DELETE', `/api/machines/${machine.machine_id}`, {
  token: machine.management.terminate_token,
});
say('terminate', `${terminated.status} ${terminated.body.status}`);
while (status !== 'terminated') {
  await sleep(500);
  status = (
    await call('GET', `/api/machines/${machine.machine_id}`, {
      token: machine.management.read_token,
    })
  ).body.status;
}
say(
  'machine terminated',
  (await call('GET', `/api/machine/mpp/orders/${paid.order_id}`)).body.current_step,
);
