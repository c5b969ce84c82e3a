import { contractProblems } from '../support/contract.js';

/** The tests' view of the contract is strict: an answer may carry nothing it does not name. */
const machine = {
  machine_id: 'machine_0123456789abcdef',
  product: 'bare-linux-machine',
  provider: 'aws-ec2',
  status: 'active',
  host: '203.0.113.9',
  username: 'ubuntu',
  created_at: '2026-12-07T10:00:00.000Z',
  expires_at: '2026-12-07T11:00:00.000Z',
  lease_minutes: 60,
};
const management = {
  read_token: `mt_read_${'a'.repeat(43)}`,
  extend_token: `mt_extend_${'a'.repeat(43)}`,
  terminate_token: `mt_term_${'a'.repeat(43)}`,
};

describe('responses held to the strict view of openapi.json', () => {
  it('refuses a property the contract does not name, and names it', () => {
    expect(contractProblems('getMachine', 200, machine)).toEqual([]);
    expect(contractProblems('getMachine', 200, { ...machine, ready_secret_hash: 'x' })).toEqual([
      '(body) must NOT have additional properties: ready_secret_hash',
    ]);
  });

  it('merges allOf branches, so a machine with its tokens is whole and nothing more', () => {
    const ordered = { ...machine, management };
    const problems = (body: unknown) => contractProblems('terminateMachine', 200, body);
    expect(problems(machine)).toEqual([]);
    expect(contractProblems('createMachine', 202, ordered)).toEqual([]);
    expect(contractProblems('createMachine', 202, { ...ordered, wake_token: 't' })).toEqual([
      '(body) must NOT have additional properties: wake_token',
    ]);
  });

  it('checks the headers an agent acts on: the 402 challenge and Retry-After', () => {
    const error = { error: 'slow down' };
    expect(contractProblems('getMachine', 429, error, new Headers())).toEqual([
      '429 without Retry-After in whole seconds',
    ]);
    expect(contractProblems('getMachine', 429, error, new Headers({ 'retry-after': '3' }))).toEqual(
      [],
    );
    expect(
      contractProblems(
        'createOrder',
        402,
        { order_id: 'order_ab', status: 'unpaid' },
        new Headers(),
      ),
    ).toContain('402 without a WWW-Authenticate: Payment challenge');
  });
});
