import type { MachineStore, RefundGateway } from '../../lambdas/core/ports.js';
import { sweepPayments } from '../../lambdas/core/use-cases/sweep-payments.js';
import { crashing } from '../support/crash-injection.js';
import { type Harness, orderBody, startHarness } from '../support/harness.js';
import { offsetClock } from '../support/offset-clock.js';
import { SPT, stripeCredential, stripeOnly, stripeStandIn } from '../support/stripe-stand-in.js';

/**
 * Pay for what you use: terminating a lease early refunds its unused whole minutes at the
 * per-minute price (the base fee and the product's minimum lease stay), exactly once, whatever
 * crashes on the way; a lease that ended by itself refunds nothing.
 */
describe('early termination refunds the unused minutes, once', () => {
  let api: Harness;
  const clock = offsetClock();
  const stripe = stripeStandIn(() => clock.now());

  beforeAll(async () => {
    api = await startHarness({
      clock,
      ...stripeOnly(stripe.fetch),
    });
  });
  afterAll(() => api.close());

  const unusedRefunds = (machineId: string) =>
    [...stripe.refunds.values()].filter((refund) =>
      refund.metadata.storefront_refund_key?.startsWith(`refund-unused-${machineId}`),
    );

  async function activeLease(minutes = 60) {
    const body = orderBody({ duration_minutes: minutes });
    const paid = await api.order(body, {
      authorization: stripeCredential(await api.order(body), `${SPT.paid}_${body.request_id}`),
    });
    expect(paid.status).toBe(202);
    const machine = paid.body.machine as {
      machine_id: string;
      management: { read_token: string; terminate_token: string };
    };
    await api.waitForStatus(machine.machine_id, machine.management.read_token, ['active']);
    return { machineId: machine.machine_id, tokens: machine.management };
  }

  it('refunds the unused whole minutes of the purchase, in the DELETE answer and later reads', async () => {
    const { machineId, tokens } = await activeLease(60);
    // 20 minutes and a bit used: 39 whole minutes unused, at 5¢.
    clock.jump(20 * 60_000 + 30_000);
    const ended = await api.terminate(machineId, tokens.terminate_token);
    expect(ended.status).toBe(200);
    // Owed from the moment of the termination; the payment sweeper pays it.
    expect(ended.body.refund).toEqual({ amount_cents: 39 * 5, status: 'pending' });
    expect(ended.body.seconds_left).toBe(0);
    expect(await sweepPayments(api.storefront)).toMatchObject({ failed: 0 });
    const again = await api.terminate(machineId, tokens.terminate_token);
    expect(again.body.refund).toEqual({ amount_cents: 39 * 5, status: 'refunded' });
    const read = await api.machine(machineId, tokens.read_token);
    expect(read.body.refund).toEqual({ amount_cents: 195, status: 'refunded' });
    await sweepPayments(api.storefront);
    expect(unusedRefunds(machineId)).toHaveLength(1);
    expect(unusedRefunds(machineId)[0]?.amount).toBe(195);
  });

  it('keeps the base fee and the minimum lease', async () => {
    const { machineId, tokens } = await activeLease(20);
    clock.jump(60_000);
    // 18 whole minutes unused, but the first 15 minutes stay paid: 5 minutes back.
    const ended = await api.terminate(machineId, tokens.terminate_token);
    expect(ended.body.refund).toEqual({ amount_cents: 5 * 5, status: 'pending' });
  });

  it('refunds nothing for a lease whose time is up', async () => {
    const { machineId, tokens } = await activeLease(15);
    // The lease has run out; a DELETE before the workflow ends it gives nothing back.
    clock.jump(15 * 60_000 + 1000);
    const ended = await api.terminate(machineId, tokens.terminate_token);
    expect(ended.body.refund).toBeUndefined();
    await sweepPayments(api.storefront);
    expect(unusedRefunds(machineId)).toHaveLength(0);
  });

  it('a crash after the termination write leaves the refund owed, never lost', async () => {
    const { machineId, tokens } = await activeLease(60);
    clock.jump(30 * 60_000);
    const terminating = await api.storefrontOf('terminateMachine');
    const real = terminating.machines;
    terminating.machines = crashing<MachineStore>(real, { requestTermination: { when: 'after' } });
    try {
      expect((await api.terminate(machineId, tokens.terminate_token)).status).toBe(500);
    } finally {
      terminating.machines = real;
    }
    // The retry finds the lease terminating and reports the debt the lost write recorded.
    const retried = await api.terminate(machineId, tokens.terminate_token);
    expect(retried.body.refund).toEqual({ amount_cents: 29 * 5, status: 'pending' });
    await sweepPayments(api.storefront);
    expect((await api.machine(machineId, tokens.read_token)).body.refund).toEqual({
      amount_cents: 145,
      status: 'refunded',
    });
    expect(unusedRefunds(machineId)).toHaveLength(1);
  });

  for (const [method, when] of [
    ['refund', 'before'],
    ['refund', 'after'],
    ['recordUnusedRefund', 'before'],
    ['recordUnusedRefund', 'after'],
  ] as const) {
    it(`a sweeper crash ${when} ${method} still ends in exactly one refund`, async () => {
      const { machineId, tokens } = await activeLease(60);
      clock.jump(30 * 60_000);
      const ended = await api.terminate(machineId, tokens.terminate_token);
      expect(ended.body.refund).toEqual({ amount_cents: 29 * 5, status: 'pending' });
      const sweeper = api.storefront;
      const { refunds, machines } = sweeper;
      if (method === 'refund') {
        sweeper.refunds = crashing<RefundGateway>(refunds, { refund: { when } });
      } else {
        sweeper.machines = crashing<MachineStore>(machines, { recordUnusedRefund: { when } });
      }
      try {
        expect((await sweepPayments(sweeper)).failed).toBeGreaterThan(0);
      } finally {
        Object.assign(sweeper, { refunds, machines });
      }
      expect((await api.machine(machineId, tokens.read_token)).body.refund).toMatchObject({
        status: method === 'recordUnusedRefund' && when === 'after' ? 'refunded' : 'pending',
      });
      clock.jump(3 * 60_000);
      expect(await sweepPayments(sweeper)).toMatchObject({ failed: 0 });
      await sweepPayments(sweeper);
      expect((await api.machine(machineId, tokens.read_token)).body.refund).toEqual({
        amount_cents: 145,
        status: 'refunded',
      });
      expect(unusedRefunds(machineId)).toHaveLength(1);
      expect(unusedRefunds(machineId)[0]?.amount).toBe(145);
      const stored = await machines.get(machineId, clock.now());
      expect((stored as unknown as Record<string, unknown>).sweep_pk).toBeUndefined();
    });
  }

  it('refunds nothing when the operator turned it off', async () => {
    const { machineId, tokens } = await activeLease(60);
    const terminating = await api.storefrontOf('terminateMachine');
    terminating.settings.refundUnusedMinutes = false;
    try {
      const ended = await api.terminate(machineId, tokens.terminate_token);
      expect(ended.body.refund).toBeUndefined();
    } finally {
      terminating.settings.refundUnusedMinutes = true;
    }
    await sweepPayments(api.storefront);
    expect(unusedRefunds(machineId)).toHaveLength(0);
  });
});
