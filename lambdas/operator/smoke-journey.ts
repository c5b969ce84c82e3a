import { randomUUID } from 'node:crypto';
import { Mppx } from 'mppx/client';
import { testChargeClient } from '../adapters/payments/test-method.js';

/**
 * An agent's whole journey against a deployed stage, as an operator checks it after a deploy:
 * discovery → health → quote → 402 → pay → active → paid extension → terminate → terminated.
 * It pays with the `test` method (a stage deployed with storefront:testPayments=true) or with
 * a Stripe test-mode Shared Payment Token. Each step is reported as it ends; the first that
 * does not answer as the contract says stops the journey.
 */
export interface SmokeOptions {
  baseUrl: string;
  /** The method to pay with; Stripe needs a test-mode Shared Payment Token. */
  payment: { method: 'test' } | { method: 'stripe'; sharedPaymentToken: string };
  /** The agent's SSH public key (any valid key: nobody logs in). */
  sshPublicKey: string;
  /** How long a machine may take to become active, and to stop. */
  timeoutMs?: number;
  /** How often the machine's status is read while waiting. */
  pollMs?: number;
  report?: (step: SmokeStep) => void;
  fetch?: typeof fetch;
}

export interface SmokeStep {
  step: string;
  ok: boolean;
  detail: string;
}

export interface SmokeResult {
  ok: boolean;
  steps: SmokeStep[];
  machineId?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: the journey reads loosely shaped JSON and checks it
type Body = Record<string, any>;

class StepFailed extends Error {}

/** The journey's steps, in order: an exception is reported against the step in progress. */
export const SMOKE_STEPS = [
  'discovery',
  'health',
  'quote',
  'order without payment',
  'order paid',
  'machine active',
  'lease extended (paid)',
  'terminate',
  'machine terminated',
] as const;

async function paymentClient(options: SmokeOptions, fetchImpl: typeof fetch) {
  if (options.payment.method === 'test')
    return Mppx.create({ methods: [testChargeClient('paid')], polyfill: false, fetch: fetchImpl });
  const { stripe } = await import('mppx/client');
  const token = options.payment.sharedPaymentToken;
  return Mppx.create({
    methods: [stripe.charge({ createToken: async () => token, paymentMethod: 'pm_card_visa' })],
    polyfill: false,
    fetch: fetchImpl,
  });
}

export async function runSmokeJourney(options: SmokeOptions): Promise<SmokeResult> {
  const base = options.baseUrl.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 20 * 60_000;
  const steps: SmokeStep[] = [];
  const report = (step: string, ok: boolean, detail: string) => {
    const entry = { step, ok, detail };
    steps.push(entry);
    options.report?.(entry);
    if (!ok) throw new StepFailed(`${step}: ${detail}`);
  };
  const call = async (
    method: string,
    path: string,
    init: { body?: unknown; token?: string } = {},
  ) => {
    const response = await fetchImpl(`${base}${path}`, {
      method,
      headers: {
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      },
      ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: (text ? JSON.parse(text) : {}) as Body,
    };
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const waitFor = async (machineId: string, token: string, wanted: string[]) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const read = await call('GET', `/api/machines/${machineId}`, { token });
      if (read.status !== 200) return read;
      if (wanted.includes(read.body.status) || read.body.status === 'failed') return read;
      if (Date.now() > deadline) return read;
      await sleep(options.pollMs ?? 5_000);
    }
  };
  let machineId: string | undefined;
  let terminateToken: string | undefined;
  try {
    const discovery = await call('GET', '/openapi.json');
    report(
      'discovery',
      discovery.status === 200 && Boolean(discovery.body.paths),
      `${discovery.status} ${Object.keys(discovery.body.paths ?? {}).length} paths`,
    );

    const health = await call('GET', '/api/health');
    report(
      'health',
      health.status === 200 && health.body.status === 'ok',
      `${health.status} ${JSON.stringify(health.body)}`,
    );

    const order = {
      request_id: randomUUID(),
      product_id: 'bare-linux-machine',
      duration_minutes: 15,
      ssh_public_key: options.sshPublicKey,
    };
    const quote = await call('POST', '/api/machine/mpp/orders/validate', { body: order });
    report(
      'quote',
      quote.status === 200,
      `${quote.status} ${quote.body.quote?.amount} ${quote.body.quote?.currency} via ${quote.body.methods}`,
    );

    const unpaid = await call('POST', '/api/machine/mpp/orders', { body: order });
    const challenge = unpaid.headers.get('www-authenticate') ?? '';
    report(
      'order without payment',
      unpaid.status === 402 && /^Payment /.test(challenge),
      `${unpaid.status} ${unpaid.body.order_id} challenge=${challenge ? 'present' : 'MISSING'}`,
    );

    const agent = await paymentClient(options, fetchImpl);
    const paidResponse = await agent.fetch(`${base}/api/machine/mpp/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(order),
    });
    const paid = (await paidResponse.json()) as Body;
    machineId = paid.machine?.machine_id;
    report(
      'order paid',
      paidResponse.status === 202 &&
        paidResponse.headers.has('payment-receipt') &&
        Boolean(machineId),
      `${paidResponse.status} receipt=${paidResponse.headers.has('payment-receipt')} machine=${machineId}`,
    );
    const tokens = paid.machine.management as Record<string, string>;
    const id = machineId as string;
    terminateToken = tokens.terminate_token;

    const active = await waitFor(id, tokens.read_token ?? '', ['active']);
    report(
      'machine active',
      active.body.status === 'active',
      `${active.body.status} ${active.body.ssh_command ?? active.body.failure_reason ?? ''}`,
    );

    const extended = await agent.fetch(`${base}/api/machines/${id}/extend`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${tokens.extend_token}`,
      },
      body: JSON.stringify({ additional_minutes: 15, request_id: randomUUID() }),
    });
    const extension = (await extended.json()) as Body;
    report(
      'lease extended (paid)',
      extended.status === 200,
      `${extended.status} lease_minutes=${extension.lease_minutes} ends ${extension.expires_at}`,
    );

    const terminated = await call('DELETE', `/api/machines/${id}`, {
      token: tokens.terminate_token,
    });
    report(
      'terminate',
      terminated.status === 200,
      `${terminated.status} ${terminated.body.status}`,
    );

    const ended = await waitFor(id, tokens.read_token ?? '', ['terminated']);
    report('machine terminated', ended.body.status === 'terminated', `${ended.body.status}`);
    return { ok: true, steps, machineId: id };
  } catch (error) {
    if (!(error instanceof StepFailed)) {
      const entry = {
        step: SMOKE_STEPS[steps.length] ?? 'error',
        ok: false,
        detail: error instanceof Error ? error.message : String(error),
      };
      steps.push(entry);
      options.report?.(entry);
    }
    // A failed check must not leave a machine running until its lease ends.
    if (machineId && terminateToken)
      await call('DELETE', `/api/machines/${machineId}`, { token: terminateToken }).catch(
        () => undefined,
      );
    return { ok: false, steps, ...(machineId ? { machineId } : {}) };
  }
}
