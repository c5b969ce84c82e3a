import { DEFAULT_CATALOG } from '../../lambdas/core/catalog.js';
import { ApiProblem } from '../../lambdas/core/errors.js';
import {
  leaseEndFromActivation,
  type MachineRecord,
  planExtension,
  sshCommand,
  toMachineView,
  unusedMinutesRefund,
} from '../../lambdas/core/machine.js';
import { machineFixture } from '../support/fixtures.js';

const product = DEFAULT_CATALOG['bare-linux-machine'];
const created = new Date('2026-11-29T10:00:00.000Z');

const machine = (overrides: Partial<MachineRecord> = {}) =>
  machineFixture({ now: created }, overrides);

describe('a new machine', () => {
  it('starts provisioning with a provisional end and a provisioning deadline', () => {
    const record = machine();
    expect(record.status).toBe('provisioning');
    expect(record.expires_at).toBe('2026-11-29T11:00:00.000Z');
    expect(record.provision_deadline).toBe('2026-11-29T10:15:00.000Z');
    expect(record.host).toBeNull();
  });

  it('starts the lease clock when it becomes active, not when it was bought', () => {
    expect(leaseEndFromActivation(machine(), new Date('2026-11-29T10:07:00.000Z'))).toBe(
      '2026-11-29T11:07:00.000Z',
    );
  });

  it('never lets the lease run past a hard stop such as a capacity block end', () => {
    const record = machine({ hard_stop_at: '2026-11-29T10:30:00.000Z' });
    expect(leaseEndFromActivation(record, created)).toBe('2026-11-29T10:30:00.000Z');
  });
});

describe('machine view', () => {
  it('has no ssh_command until a host is known', () => {
    expect(toMachineView(machine(), created)).not.toHaveProperty('ssh_command');
  });

  it('builds the ssh command, with -p only for a port other than 22', () => {
    expect(toMachineView(machine({ host: '203.0.113.7' }), created).ssh_command).toBe(
      'ssh ubuntu@203.0.113.7',
    );
    expect(sshCommand('ubuntu', 'example.test', 2222)).toBe('ssh -p 2222 ubuntu@example.test');
  });

  it('says how many seconds are left: all while provisioning, the rest while active, none after', () => {
    const at = new Date('2026-11-29T10:30:00.000Z');
    expect(toMachineView(machine(), at).seconds_left).toBe(60 * 60);
    const running = machine({ status: 'active', expires_at: '2026-11-29T10:45:00.500Z' });
    expect(toMachineView(running, at).seconds_left).toBe(15 * 60 + 1);
    expect(toMachineView(running, new Date('2026-11-29T11:00:00.000Z')).seconds_left).toBe(0);
    expect(toMachineView(machine({ status: 'terminated' }), at).seconds_left).toBe(0);
  });

  it('says whether the lease clock runs: not while provisioning, while active, not after', () => {
    const at = new Date('2026-11-29T10:07:00.000Z');
    expect(toMachineView(machine(), at)).toMatchObject({
      lease_clock: 'not_started',
      seconds_left: 3600,
      // Provisional until activation: created_at + the paid minutes.
      expires_at: '2026-11-29T11:00:00.000Z',
    });
    const activated = machine({
      status: 'active',
      activated_at: at.toISOString(),
      expires_at: leaseEndFromActivation(machine(), at),
    });
    expect(toMachineView(activated, at)).toMatchObject({
      lease_clock: 'running',
      expires_at: '2026-11-29T11:07:00.000Z',
      seconds_left: 3600,
    });
    expect(toMachineView(machine({ status: 'terminated' }), at).lease_clock).toBe('stopped');
  });

  it('shows no address or login command once the lease has ended', () => {
    const ended = toMachineView(machine({ status: 'terminated', host: '203.0.113.7' }), created);
    expect(ended.host).toBeNull();
    expect(ended).not.toHaveProperty('ssh_command');
  });

  it('never exposes token material or the SSH key', () => {
    const view = JSON.stringify(toMachineView(machine({ host: '203.0.113.7' }), created));
    expect(view).not.toMatch(/token|nonce|ssh-ed25519/);
  });
});

describe('unused minutes refunded on early termination', () => {
  const at = new Date('2026-11-29T10:30:00.000Z');
  const active = (overrides: Partial<MachineRecord> = {}) =>
    machine({ status: 'active', expires_at: '2026-11-29T11:00:30.000Z', ...overrides });

  it('refunds the whole unused minutes at the per-minute price; started minutes stay paid', () => {
    // 30.5 minutes left: 30 whole minutes.
    expect(unusedMinutesRefund(active(), product, at)).toEqual({ minutes: 30, amount_cents: 150 });
  });

  it('keeps the minimum lease: a 60-minute lease gives back at most 45 minutes', () => {
    expect(unusedMinutesRefund(machine(), product, at)).toEqual({ minutes: 45, amount_cents: 225 });
    expect(
      unusedMinutesRefund(active({ expires_at: '2026-11-29T11:29:00.000Z' }), product, at),
    ).toEqual({ minutes: 45, amount_cents: 225 });
  });

  it('keeps the minutes bought by extensions, the last minutes of a lease', () => {
    const extended = active({
      lease_minutes: 90,
      expires_at: '2026-11-29T11:30:30.000Z',
      extensions: {
        e: {
          machine_id: 'm',
          extension_key: 'e',
          additional_minutes: 30,
          lease_minutes_after: 90,
          applied_at: created.toISOString(),
        },
        owed: {
          machine_id: 'm',
          extension_key: 'owed',
          additional_minutes: 60,
          lease_minutes_after: 120,
          applied_at: created.toISOString(),
          refund_due: true,
        },
      },
    });
    // 60 whole minutes unused; the extension's 30 stay, 30 of the purchase come back.
    expect(unusedMinutesRefund(extended, product, at)).toEqual({ minutes: 30, amount_cents: 150 });
  });

  it('refunds nothing once the time is up, after the lease ended, or when nothing was paid', () => {
    expect(
      unusedMinutesRefund(active({ expires_at: at.toISOString() }), product, at),
    ).toBeUndefined();
    expect(unusedMinutesRefund(machine({ status: 'terminated' }), product, at)).toBeUndefined();
    expect(unusedMinutesRefund(machine({ status: 'failed' }), product, at)).toBeUndefined();
    expect(unusedMinutesRefund(machine({ billing: 'unpaid' }), product, at)).toBeUndefined();
    expect(
      unusedMinutesRefund(active({ expires_at: '2026-11-29T10:30:59.000Z' }), product, at),
    ).toBeUndefined();
  });
});

describe('extension rules', () => {
  const now = new Date('2026-11-29T10:30:00.000Z');
  const active = machine({ status: 'active', expires_at: '2026-11-29T11:00:00.000Z' });

  it('adds minutes to the lease end and to the paid length', () => {
    expect(planExtension(active, product, 30, now)).toEqual({
      leaseMinutesBefore: 60,
      leaseMinutes: 90,
      expiresAt: '2026-11-29T11:30:00.000Z',
    });
  });

  it('allows reaching the product maximum exactly, not one minute more', () => {
    expect(planExtension(active, product, 300, now).leaseMinutes).toBe(360);
    expect(() => planExtension(active, product, 301, now)).toThrow(
      /limited to 360 minutes in total \(at most 300 more\)/,
    );
  });

  it.each(['terminating', 'terminated', 'failed'] as const)(
    'refuses to extend a %s machine',
    (status) => {
      expect(() => planExtension(machine({ status }), product, 10, now)).toThrow(ApiProblem);
      expect(() => planExtension(machine({ status }), product, 10, now)).toThrow(
        `machine is ${status}`,
      );
    },
  );

  it('refuses to extend a lease that has already ended', () => {
    expect(() => planExtension(active, product, 10, new Date('2026-11-29T11:00:01.000Z'))).toThrow(
      /already ended/,
    );
  });

  it("refuses an extension shorter than the product's minimum", () => {
    const gpu = DEFAULT_CATALOG['gpu-h100-machine'];
    const gpuLease = machine({ status: 'active', product_id: 'gpu-h100-machine' });
    expect(() => planExtension(gpuLease, gpu, 14, now)).toThrow(
      /additional_minutes must be at least 15 for gpu-h100-machine/,
    );
    expect(planExtension(gpuLease, gpu, 15, now).leaseMinutes).toBe(75);
    expect(planExtension(active, product, 1, now).leaseMinutes).toBe(61);
  });

  it('refuses to extend past a hard stop', () => {
    const blocked = machine({ status: 'active', hard_stop_at: '2026-11-29T11:10:00.000Z' });
    expect(() => planExtension(blocked, product, 30, now)).toThrow(/reserved capacity ends/);
  });
});
