import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { ApiProblem } from '../../lambdas/core/errors.js';
import type { MachineRecord } from '../../lambdas/core/machine.js';
import { extendLease } from '../../lambdas/core/use-cases/extend-lease.js';
import { credential, type MoneyWorld, moneyTable } from '../support/money-world.js';

/**
 * extendLease over the real machine store (dynalite) with a scripted payment method: what is
 * charged, under which terms, what the one write on the machine records, and that the
 * extension lock and the payment attempt are left as the next request and the sweeper need.
 */
const request = new Request('http://storefront.test/api/machines/x/extend', { method: 'POST' });
const MINUTE = 60_000;

describe('extendLease', () => {
  let table: Awaited<ReturnType<typeof moneyTable>>;
  let world: MoneyWorld;
  beforeAll(async () => {
    table = await moneyTable();
  });
  afterAll(() => table.close());
  beforeEach(() => {
    world = table.fresh();
  });

  const extend = (machine: MachineRecord, body: Record<string, unknown>) =>
    extendLease(
      world.storefront,
      request,
      machine.machine_id,
      `Bearer ${world.extendToken(machine)}`,
      body,
    );

  async function problemOf(promise: Promise<unknown>): Promise<ApiProblem> {
    const error = await promise.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    if (!(error instanceof ApiProblem)) throw new Error(`expected an ApiProblem, got ${error}`);
    return error;
  }

  it('answers a request without a credential with the terms of this extension, and locks nothing', async () => {
    const machine = await world.activeMachine();
    const requestId = randomUUID();
    const outcome = await extend(machine, { additional_minutes: 10, request_id: requestId });
    expect(outcome.kind).toBe('payment_required');
    if (outcome.kind !== 'payment_required') return;
    expect(outcome.quote.amount_cents).toBe(50);
    expect(world.payments.credentialReads).toEqual([{ authorizationTaken: true }]);
    expect(world.payments.charges).toEqual([]);
    const item = await world.machineItem(machine.machine_id);
    expect(item.extension_lock_owner).toBeUndefined();
    expect(item.lease_minutes).toBe(60);
  });

  it('charges the quoted amount bound to the lease as it stands, and applies it in one write', async () => {
    const machine = await world.activeMachine();
    world.payments.presented = credential('a');
    const requestId = randomUUID();
    const outcome = await extend(machine, { additional_minutes: 10, request_id: requestId });

    expect(world.payments.charges).toHaveLength(1);
    expect(world.payments.charges[0]).toEqual({
      amountCents: 50,
      description: `Extend ${machine.machine_id} by 10 minutes`,
      externalId: `${machine.machine_id}+60`,
      expires: new Date(world.clock.now().getTime() + 15 * MINUTE).toISOString(),
      binding: {
        machine_id: machine.machine_id,
        additional_minutes: '10',
        lease_minutes_before: '60',
        request_id: requestId,
      },
      authorizationTaken: true,
    });
    expect(outcome).toMatchObject({
      kind: 'extended',
      receiptHeader: 'receipt-1',
      machine: { lease_minutes: 70 },
    });
    const item = await world.machineItem(machine.machine_id);
    expect(item.lease_minutes).toBe(70);
    expect(item.expires_at).toBe(
      new Date(Date.parse(machine.expires_at) + 10 * MINUTE).toISOString(),
    );
    expect(item.extensions).toEqual({
      [requestId]: {
        machine_id: machine.machine_id,
        extension_key: requestId,
        additional_minutes: 10,
        lease_minutes_after: 70,
        applied_at: world.clock.now().toISOString(),
        payment: { method: 'test', reference: 'pay_1', receipt_header: 'receipt-1' },
        amount_cents: 50,
      },
    });
    // The attempt is concluded and the lock released: nothing is left for the sweeper.
    expect(item.extension_attempts).toEqual({});
    expect(item.extension_lock_owner).toBeUndefined();
    expect(item.extension_lock_until).toBeUndefined();
    expect(world.leases.extended.map((extended) => extended.lease_minutes)).toEqual([70]);
  });

  it('fails, rather than extend, when a method takes money without a credential', async () => {
    const machine = await world.activeMachine();
    world.payments.charge = async () => ({ kind: 'paid', payment: world.payments.payment() });
    await expect(extend(machine, { additional_minutes: 10 })).rejects.toThrow(
      'payment accepted without a credential',
    );
    expect((await world.machineItem(machine.machine_id)).lease_minutes).toBe(60);
  });

  it('keys an extension sent without request_id by the challenge it pays', async () => {
    const machine = await world.activeMachine();
    world.payments.presented = credential('b');
    await extend(machine, { additional_minutes: 5 });
    const item = await world.machineItem(machine.machine_id);
    expect(Object.keys(item.extensions as object)).toEqual(['challenge-challenge-b']);
    expect(world.payments.charges[0]?.binding).not.toHaveProperty('request_id');
  });

  it('answers a retry of an applied extension with its receipt and charges nothing again', async () => {
    const machine = await world.activeMachine();
    world.payments.presented = credential('c');
    const requestId = randomUUID();
    await extend(machine, { additional_minutes: 10, request_id: requestId });
    const stored = await world.machines.get(machine.machine_id, world.clock.now());
    if (!stored) throw new Error('machine gone');
    const retry = await extend(stored, { additional_minutes: 10, request_id: requestId });
    expect(retry).toMatchObject({ kind: 'extended', receiptHeader: 'receipt-1' });
    expect(world.payments.charges).toHaveLength(1);
    expect((await world.machineItem(machine.machine_id)).lease_minutes).toBe(70);

    const other = await problemOf(
      extend(stored, { additional_minutes: 11, request_id: requestId }),
    );
    expect(other.kind).toBe('conflict');
    expect(other.message).toMatch(/different length/);
    expect(world.payments.charges).toHaveLength(1);
  });

  it('answers a retry of an extension owed back with 409, naming the amount and the refund', async () => {
    const requestId = randomUUID();
    const machine = await world.activeMachine({
      extensions: {
        [requestId]: {
          machine_id: 'm',
          extension_key: requestId,
          additional_minutes: 10,
          lease_minutes_after: 70,
          applied_at: 'then',
          payment: { method: 'test', reference: 'pay_old' },
          amount_cents: 50,
          refund_due: true,
        },
      },
    });
    world.payments.presented = credential('d');
    const owed = await problemOf(
      extend(machine, { additional_minutes: 10, request_id: requestId }),
    );
    expect(owed.kind).toBe('conflict');
    expect(owed.message).toMatch(/its payment 0\.50 USD is being refunded/);
    expect(world.payments.charges).toEqual([]);
  });

  it('says "was refunded" once the refund of a retried extension is confirmed', async () => {
    const requestId = randomUUID();
    const machine = await world.activeMachine({
      extensions: {
        [requestId]: {
          machine_id: 'm',
          extension_key: requestId,
          additional_minutes: 10,
          lease_minutes_after: 70,
          applied_at: 'then',
          payment: { method: 'test', reference: 'pay_old' },
          refund: { status: 'refunded', amount_cents: 50, reference: 're_1', refunded_at: 'then' },
        },
      },
    });
    const refunded = await problemOf(
      extend(machine, { additional_minutes: 10, request_id: requestId }),
    );
    expect(refunded.message).toMatch(/its payment was refunded/);
  });

  it('keeps the attempt of a charge whose outcome is unknown, and releases the lock', async () => {
    const machine = await world.activeMachine();
    world.payments.presented = credential('e');
    world.payments.chargeAnswers.push(world.payments.refusal('processing', true));
    const outcome = await extend(machine, { additional_minutes: 10 });
    expect(outcome.kind).toBe('payment_required');
    const item = await world.machineItem(machine.machine_id);
    expect(Object.values(item.extension_attempts as object)).toMatchObject([
      {
        challenge_id: 'challenge-e',
        amount_cents: 50,
        external_id: `${machine.machine_id}+60`,
        extension: {
          extension_key: 'challenge-challenge-e',
          additional_minutes: 10,
          lease_minutes_before: 60,
        },
      },
    ]);
    expect(item.extension_lock_owner).toBeUndefined();
    expect(item.lease_minutes).toBe(60);
    // The sweeper looks at it once the lock would have lapsed.
    expect(item.sweep_pk).toBeDefined();
  });

  it('forgets the attempt of a refused charge, and releases the lock', async () => {
    const machine = await world.activeMachine();
    world.payments.presented = credential('f');
    world.payments.chargeAnswers.push(world.payments.refusal('declined'));
    const outcome = await extend(machine, { additional_minutes: 10 });
    expect(outcome).toMatchObject({ kind: 'payment_required', refusal: { reason: 'declined' } });
    const item = await world.machineItem(machine.machine_id);
    expect(item.extension_attempts).toEqual({});
    expect(item.extension_lock_owner).toBeUndefined();
  });

  it('keeps the attempt when the charge throws (nobody knows whether money moved)', async () => {
    const machine = await world.activeMachine();
    world.payments.presented = credential('g');
    world.payments.chargeAnswers.push(new Error('connection reset'));
    await expect(extend(machine, { additional_minutes: 10 })).rejects.toThrow('connection reset');
    const item = await world.machineItem(machine.machine_id);
    expect(Object.keys(item.extension_attempts as object)).toHaveLength(1);
    expect(item.extension_lock_owner).toBeUndefined();
  });

  it('charges nothing while another request holds the extension lock', async () => {
    const machine = await world.activeMachine();
    const now = world.clock.now();
    await world.machines.lockForExtension(
      machine.machine_id,
      'someone-else',
      new Date(now.getTime() + MINUTE),
      now,
    );
    world.payments.presented = credential('h');
    const busy = await problemOf(extend(machine, { additional_minutes: 10 }));
    expect(busy.kind).toBe('payment_in_progress');
    // What the agent acts on: nothing is wrong with its request, only its timing.
    expect(busy.message).toBe(
      'an extension payment for this machine is already being processed; retry in a few seconds',
    );
    expect(world.payments.charges).toEqual([]);
    expect((await world.machineItem(machine.machine_id)).extension_lock_owner).toBe('someone-else');
  });

  it('holds the extension lock for paymentLockSeconds while it charges: a second request meanwhile is refused, not charged', async () => {
    const machine = await world.activeMachine();
    const lockMs = world.storefront.settings.paymentLockSeconds * 1000;
    const lockedAt = world.clock.now();
    let meanwhile: unknown = 'not tried';
    let lockUntil: unknown;
    world.payments.presented = credential('first');
    world.payments.duringCharge = async () => {
      world.payments.duringCharge = undefined;
      lockUntil = (await world.machineItem(machine.machine_id)).extension_lock_until;
      // A slow charge: the second request comes just before the lock would lapse.
      world.clock.advance(lockMs - 1000);
      world.payments.presented = credential('second');
      meanwhile = await extend(machine, { additional_minutes: 10 }).catch(
        (error: unknown) => error,
      );
    };
    const first = await extend(machine, { additional_minutes: 10 });
    expect(lockUntil).toBe(lockedAt.getTime() + lockMs);
    expect(meanwhile).toBeInstanceOf(ApiProblem);
    expect((meanwhile as ApiProblem).kind).toBe('payment_in_progress');
    expect(first).toMatchObject({ kind: 'extended', machine: { lease_minutes: 70 } });
    expect(world.payments.charges).toHaveLength(1);
    const item = await world.machineItem(machine.machine_id);
    expect(item.lease_minutes).toBe(70);
    expect(Object.keys(item.extensions as object)).toEqual(['challenge-challenge-first']);
    expect(item.extension_lock_owner).toBeUndefined();
  });

  it('keys an extension paid without a credential it could read by the payment taken', async () => {
    // The payment method, not the storefront, judges what was presented: if it takes money for
    // something the storefront could not read, the payment's reference keys the extension
    // (and so its refund), as no challenge id can.
    const machine = await world.activeMachine();
    world.payments.presented = { kind: 'unreadable' };
    const outcome = await extend(machine, { additional_minutes: 10 });
    expect(outcome).toMatchObject({ kind: 'extended', machine: { lease_minutes: 70 } });
    const item = await world.machineItem(machine.machine_id);
    expect(item.extensions).toEqual({
      'payment-pay_1': expect.objectContaining({
        extension_key: 'payment-pay_1',
        amount_cents: 50,
        payment: expect.objectContaining({ reference: 'pay_1' }),
      }),
    });
  });

  it('refuses a credential whose challenge expired without charging it, and forgets its attempt', async () => {
    const machine = await world.activeMachine();
    const expires = new Date(world.clock.now().getTime() - 1).toISOString();
    world.payments.presented = credential('i', { expires });
    const outcome = await extend(machine, { additional_minutes: 10 });
    expect(outcome.kind).toBe('payment_required');
    expect(world.payments.charges).toEqual([]);
    expect(world.payments.challenges).toHaveLength(1);
    expect(world.payments.challenges[0]?.reason).toContain(`expired at ${expires}`);
    expect(world.payments.challenges[0]?.terms.amountCents).toBe(50);
    const item = await world.machineItem(machine.machine_id);
    expect(item.extension_attempts).toEqual({});
    expect(item.extension_lock_owner).toBeUndefined();
  });

  it('charges a credential whose challenge is still valid', async () => {
    const machine = await world.activeMachine();
    const expires = new Date(world.clock.now().getTime() + 1000).toISOString();
    world.payments.presented = credential('j', { expires });
    expect((await extend(machine, { additional_minutes: 10 })).kind).toBe('extended');
    expect(world.payments.charges).toHaveLength(1);
  });

  it('refuses an extension cheaper than the methods can charge, naming the minimum minutes', async () => {
    const machine = await world.activeMachine();
    world.payments.minimumChargeCents = 51;
    world.payments.presented = credential('k');
    const tooSmall = await problemOf(extend(machine, { additional_minutes: 10 }));
    expect(tooSmall.kind).toBe('invalid_request');
    expect(tooSmall.message).toBe(
      'additional_minutes must be at least 11: an extension must cost at least 0.51 USD with the accepted payment methods',
    );
    world.payments.minimumChargeCents = 50;
    expect((await extend(machine, { additional_minutes: 10 })).kind).toBe('extended');
  });

  describe('an earlier attempt left unconcluded', () => {
    async function withEarlierAttempt(extensionKey: string, outcome: 'charged' | 'unknown') {
      const machine = await world.activeMachine();
      const now = world.clock.now();
      const earlier = {
        key: 'earlier-attempt',
        challenge_id: 'challenge-earlier',
        method: 'test',
        external_id: `${machine.machine_id}+60`,
        amount_cents: 50,
        started_at: now.toISOString(),
        owner: 'a-request-that-died',
        extension: {
          extension_key: extensionKey,
          additional_minutes: 10,
          lease_minutes_before: 60,
        },
      };
      // Recorded under a lock that has since lapsed.
      await world.machines.lockForExtension(machine.machine_id, earlier.owner, now, now, earlier);
      world.payments.recoveries.set(
        earlier.key,
        outcome === 'charged'
          ? {
              kind: 'charged',
              payment: {
                method: 'test',
                reference: 'pay_earlier',
                receipt_header: 'receipt-earlier',
              },
            }
          : { kind: 'unknown', reason: 'processing' },
      );
      world.clock.advance(1000);
      return machine;
    }

    it('that paid for this very extension concludes it: applied once, nothing charged again', async () => {
      const requestId = randomUUID();
      const machine = await withEarlierAttempt(requestId, 'charged');
      world.payments.presented = credential('retry');
      const outcome = await extend(machine, { additional_minutes: 10, request_id: requestId });
      expect(outcome).toMatchObject({ kind: 'extended', receiptHeader: 'receipt-earlier' });
      expect(world.payments.charges).toEqual([]);
      const item = await world.machineItem(machine.machine_id);
      expect(item.lease_minutes).toBe(70);
      expect(item.extension_attempts).toEqual({});
      expect(item.extension_lock_owner).toBeUndefined();
    });

    it('that paid for another extension: this one is refused with 409 and not charged', async () => {
      const machine = await withEarlierAttempt(randomUUID(), 'charged');
      world.payments.presented = credential('other');
      const changed = await problemOf(
        extend(machine, { additional_minutes: 10, request_id: randomUUID() }),
      );
      expect(changed.kind).toBe('conflict');
      expect(changed.message).toMatch(/lease changed while this extension was being paid/);
      expect(world.payments.charges).toEqual([]);
      const item = await world.machineItem(machine.machine_id);
      expect(item.lease_minutes).toBe(70);
      expect(item.extension_attempts).toEqual({});
      expect(item.extension_lock_owner).toBeUndefined();
    });

    it('whose outcome the provider cannot tell yet stops this charge', async () => {
      const machine = await withEarlierAttempt(randomUUID(), 'unknown');
      world.payments.presented = credential('waiting');
      const waiting = await problemOf(extend(machine, { additional_minutes: 10 }));
      expect(waiting.kind).toBe('payment_in_progress');
      expect(world.payments.charges).toEqual([]);
      const item = await world.machineItem(machine.machine_id);
      expect(Object.keys(item.extension_attempts as object)).toContain('earlier-attempt');
      expect(item.extension_lock_owner).toBeUndefined();
    });
  });

  describe('an unpaid lease (the operator allows unpaid creates)', () => {
    it('is extended without a charge, keyed by the lease length it extends', async () => {
      const machine = await world.activeMachine({ billing: 'unpaid' });
      const outcome = await extend(machine, { additional_minutes: 10 });
      expect(outcome).toMatchObject({ kind: 'extended', machine: { lease_minutes: 70 } });
      expect(outcome).not.toHaveProperty('receiptHeader');
      expect(world.payments.charges).toEqual([]);
      const item = await world.machineItem(machine.machine_id);
      expect(item.extensions).toEqual({
        'unpaid-60': {
          machine_id: machine.machine_id,
          extension_key: 'unpaid-60',
          additional_minutes: 10,
          lease_minutes_after: 70,
          applied_at: world.clock.now().toISOString(),
        },
      });
      expect(world.leases.extended).toHaveLength(1);
      expect(world.log.entries.find((entry) => entry.event === 'lease.extended')?.fields).toEqual({
        machine_id: machine.machine_id,
        lease_minutes: 70,
      });
    });

    it('is extended even when the workflow cannot be woken (it finds the new end itself)', async () => {
      const machine = await world.activeMachine({ billing: 'unpaid' });
      world.leases.failExtensionWake = new Error('throttled');
      const requestId = randomUUID();
      const outcome = await extend(machine, { additional_minutes: 10, request_id: requestId });
      expect(outcome.kind).toBe('extended');
      expect(
        Object.keys((await world.machineItem(machine.machine_id)).extensions as object),
      ).toEqual([requestId]);
      // The operator needs the machine whose workflow may wake late, and why.
      expect(
        world.log.entries.find((entry) => entry.event === 'lease.extension_wake_failed')?.fields,
      ).toEqual({ machine_id: machine.machine_id, error: 'Error: throttled' });
      expect(world.log.entries.map((entry) => entry.event)).toContain('lease.extended');
    });

    it('is refused with 409 when the lease changed under the write', async () => {
      const machine = await world.activeMachine({ billing: 'unpaid' });
      // Another extension moves the lease on after this request read it, before its write.
      const apply = world.machines.applyExtension.bind(world.machines);
      jest.spyOn(world.machines, 'applyExtension').mockImplementationOnce(async (...args) => {
        await apply(
          machine.machine_id,
          { leaseMinutesBefore: 60, leaseMinutes: 65, expiresAt: machine.expires_at },
          {
            machine_id: machine.machine_id,
            extension_key: 'other',
            additional_minutes: 5,
            lease_minutes_after: 65,
            applied_at: 'now',
          },
        );
        return apply(...args);
      });
      const changed = await problemOf(extend(machine, { additional_minutes: 10 }));
      expect(changed.kind).toBe('conflict');
      expect(changed.message).toBe(
        'the lease changed while it was being extended; read it and try again',
      );
      expect(world.leases.extended).toEqual([]);
    });
  });
});
