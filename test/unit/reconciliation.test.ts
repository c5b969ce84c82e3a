import type { MachineRecord } from '../../lambdas/core/machine.js';
import { orphanReason } from '../../lambdas/core/reconciliation.js';
import { failureReason } from '../../lambdas/workflow/lease-records.js';
import { machineFixture } from '../support/fixtures.js';

const created = new Date('2026-11-29T10:00:00.000Z');
const machine = (overrides: Partial<MachineRecord>) =>
  machineFixture({ now: created }, { instance_id: 'i-1', ...overrides });

const at = (iso: string) => new Date(iso);

describe('which instances the reconciler terminates', () => {
  it('keeps the instance of a live lease, within its time plus grace', () => {
    expect(orphanReason('i-1', machine({}), at('2026-11-29T10:20:00Z'), 10)).toBeUndefined();
    const active = machine({ status: 'active', expires_at: '2026-11-29T11:00:00.000Z' });
    expect(orphanReason('i-1', active, at('2026-11-29T11:09:00Z'), 10)).toBeUndefined();
  });

  it.each([
    ['no lease', undefined, '2026-11-29T10:00:00Z', 'no lease exists for this instance'],
    [
      'an ended lease',
      machine({ status: 'terminated' }),
      '2026-11-29T10:00:00Z',
      'the lease is terminated',
    ],
    [
      'a failed lease',
      machine({ status: 'failed' }),
      '2026-11-29T10:00:00Z',
      'the lease is failed',
    ],
    [
      'a duplicate',
      machine({ instance_id: 'i-2' }),
      '2026-11-29T10:00:00Z',
      'the lease runs on i-2; this is a second instance',
    ],
    [
      'an overdue lease',
      machine({ status: 'active', expires_at: '2026-11-29T11:00:00.000Z' }),
      '2026-11-29T11:10:01Z',
      'the lease ended at 2026-11-29T11:00:00.000Z',
    ],
    [
      'a stuck termination',
      machine({ status: 'terminating', termination_requested_at: '2026-11-29T10:30:00.000Z' }),
      '2026-11-29T10:41:00Z',
      'termination was requested and did not happen',
    ],
    [
      'stuck provisioning',
      machine({}),
      '2026-11-29T10:26:00Z',
      'provisioning did not finish in time',
    ],
  ])('terminates the instance of %s', (_label, lease, now, reason) => {
    expect(orphanReason('i-1', lease, at(now), 10)).toBe(reason);
  });
});

describe('failure reasons shown to agents', () => {
  it('passes on our own workflow messages, from Lambda error causes too', () => {
    expect(failureReason({ error: { Error: 'CapacityUnavailable', Cause: 'no H100 now' } })).toBe(
      'no H100 now',
    );
    expect(
      failureReason({
        error: {
          Error: 'CapacityUnavailable',
          Cause: JSON.stringify({
            errorType: 'CapacityUnavailable',
            errorMessage: 'no H100 now',
            trace: [],
          }),
        },
      }),
    ).toBe('no H100 now');
    expect(failureReason({ reason: 'the machine did not become ready' })).toBe(
      'the machine did not become ready',
    );
  });

  it('hides anything else behind a generic message', () => {
    expect(
      failureReason({
        error: { Error: 'TypeError', Cause: 'Cannot read properties of undefined (secret stuff)' },
      }),
    ).toBe('the machine could not be provisioned; the operator has been alerted');
    expect(failureReason({})).toMatch(/could not be provisioned/);
  });
});
