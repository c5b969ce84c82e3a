import { contractProblems } from '../support/contract.js';

describe('the response contract checker used by the HTTP tests', () => {
  it('accepts a documented, valid response', () => {
    expect(
      contractProblems('health', 200, { status: 'ok', products: ['gpu-h100-machine'] }),
    ).toEqual([]);
  });

  it('flags an undocumented status', () => {
    expect(contractProblems('getMachine', 418, {})).toEqual([
      'getMachine does not document status 418',
    ]);
  });

  it('flags a body that breaks the schema', () => {
    expect(contractProblems('health', 200, { status: 'degraded', products: [] }).join()).toMatch(
      /status/,
    );
    expect(contractProblems('getMachine', 404, { message: 'x' }).join()).toMatch(/error/);
    expect(contractProblems('validateOrder', 200, { protocol: 'mpp' }).join()).toMatch(/methods/);
  });
});
