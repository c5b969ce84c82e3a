import { DEFAULT_CATALOG, resolveCatalog } from '../../lambdas/core/catalog.js';
import { ApiProblem } from '../../lambdas/core/errors.js';
import {
  isGuessableRequestId,
  orderFingerprint,
  parseCreateMachineRequest,
  parseExtendMachineRequest,
} from '../../lambdas/core/requests.js';
import { AGENT_KEY } from '../support/ssh-keys.js';

const valid = {
  request_id: '3F0C1A52-8D4E-4B1A-9C57-2B8E6F1D0A93',
  product_id: 'bare-linux-machine',
  duration_minutes: 60,
  ssh_public_key: AGENT_KEY,
};

const problemOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiProblem) return `${error.kind}: ${error.message}`;
    throw error;
  }
  return 'accepted';
};

describe('order request validation', () => {
  it('accepts a valid body and normalises request_id to lower case', () => {
    expect(parseCreateMachineRequest(valid, DEFAULT_CATALOG)).toEqual({
      ...valid,
      request_id: valid.request_id.toLowerCase(),
    });
  });

  it.each([
    ['not an object', [], /request body must be a JSON object/],
    ['null', null, /request body must be a JSON object/],
    ['missing request_id', { ...valid, request_id: undefined }, /request_id is required/],
    ['request_id not a UUID', { ...valid, request_id: 'order-1' }, /request_id must be a UUID/],
    ['request_id a number', { ...valid, request_id: 7 }, /request_id must be a string/],
    [
      'unknown product',
      { ...valid, product_id: 'tpu-machine' },
      /product_id must be one of bare-linux-machine, gpu-h100-machine/,
    ],
    ['missing product', { ...valid, product_id: undefined }, /product_id is required/],
    [
      'duration a string',
      { ...valid, duration_minutes: '60' },
      /duration_minutes must be an integer/,
    ],
    [
      'duration fractional',
      { ...valid, duration_minutes: 60.5 },
      /duration_minutes must be an integer/,
    ],
    [
      'duration too short',
      { ...valid, duration_minutes: 14 },
      /duration_minutes must be between 15 and 360 for bare-linux-machine/,
    ],
    ['duration too long', { ...valid, duration_minutes: 361 }, /between 15 and 360/],
    ['missing key', { ...valid, ssh_public_key: undefined }, /ssh_public_key is required/],
    [
      'key not a string',
      { ...valid, ssh_public_key: ['ssh-ed25519'] },
      /ssh_public_key must be a string/,
    ],
    [
      'key invalid',
      { ...valid, ssh_public_key: 'ssh-ed25519 AAAA' },
      /ssh_public_key is not a valid ssh-ed25519 key/,
    ],
    [
      'the nil UUID as request_id',
      { ...valid, request_id: '00000000-0000-0000-0000-000000000000' },
      /request_id must be a random UUID/,
    ],
    [
      'an all-one-digit request_id',
      { ...valid, request_id: '11111111-1111-1111-1111-111111111111' },
      /request_id must be a random UUID/,
    ],
    [
      'the max UUID as request_id',
      { ...valid, request_id: 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF' },
      /request_id must be a random UUID/,
    ],
    [
      'a two-digit pattern as request_id',
      { ...valid, request_id: '12121212-1212-4121-8121-121212121212' },
      /request_id must be a random UUID/,
    ],
    ['unknown field', { ...valid, coupon: 'FREE' }, /unknown field "coupon"/],
    ['two unknown fields', { ...valid, a: 1, b: 2 }, /unknown fields "a", "b"/],
  ])('refuses %s with a 400 naming the field and rule', (_label, body, message) => {
    const problem = problemOf(() => parseCreateMachineRequest(body, DEFAULT_CATALOG));
    expect(problem).toMatch(/^invalid_request: /);
    expect(problem).toMatch(message);
  });

  it('applies each product its own duration bounds', () => {
    const catalog = resolveCatalog({ 'gpu-h100-machine': { minMinutes: 30, maxMinutes: 120 } });
    const gpu = { ...valid, product_id: 'gpu-h100-machine' };
    expect(
      problemOf(() => parseCreateMachineRequest({ ...gpu, duration_minutes: 20 }, catalog)),
    ).toMatch(/between 30 and 120 for gpu-h100-machine/);
    expect(
      problemOf(() => parseCreateMachineRequest({ ...valid, duration_minutes: 20 }, catalog)),
    ).toBe('accepted');
  });
});

describe('request_id as a secret', () => {
  it('accepts every one of many random UUIDs', () => {
    const guessable = Array.from({ length: 5000 }, () => crypto.randomUUID()).filter(
      isGuessableRequestId,
    );
    expect(guessable).toEqual([]);
  });
});

describe('order fingerprint', () => {
  const base = parseCreateMachineRequest(valid, DEFAULT_CATALOG);

  it('is the same for the same order, whatever the request_id case', () => {
    const again = parseCreateMachineRequest(
      { ...valid, request_id: valid.request_id.toLowerCase() },
      DEFAULT_CATALOG,
    );
    expect(orderFingerprint(again)).toBe(orderFingerprint(base));
  });

  it.each([
    ['duration', { duration_minutes: 61 }],
    ['product', { product_id: 'gpu-h100-machine' }],
    ['key', { ssh_public_key: `${AGENT_KEY}x` }],
  ])('changes with the %s', (_label, change) => {
    expect(orderFingerprint({ ...base, ...change } as typeof base)).not.toBe(
      orderFingerprint(base),
    );
  });
});

describe('extend request validation', () => {
  it('accepts additional_minutes and an optional request_id', () => {
    expect(parseExtendMachineRequest({ additional_minutes: 30 })).toEqual({
      additional_minutes: 30,
    });
    expect(
      parseExtendMachineRequest({
        additional_minutes: 5,
        request_id: '3F0C1A52-8D4E-4B1A-9C57-2B8E6F1D0A93',
      }),
    ).toEqual({ additional_minutes: 5, request_id: '3f0c1a52-8d4e-4b1a-9c57-2b8e6f1d0a93' });
  });

  it.each([
    [{}, /additional_minutes is required/],
    [{ additional_minutes: 0 }, /at least 1/],
    [{ additional_minutes: -5 }, /at least 1/],
    [{ additional_minutes: 1.5 }, /positive integer/],
    [{ additional_minutes: '10' }, /positive integer/],
    [{ additional_minutes: 10, minutes: 10 }, /unknown field "minutes"/],
    [{ additional_minutes: 10, request_id: 'x' }, /request_id must be a UUID/],
    [
      { additional_minutes: 10, request_id: '00000000-0000-0000-0000-000000000000' },
      /request_id must be a random UUID/,
    ],
  ])('refuses %j', (body, message) => {
    expect(problemOf(() => parseExtendMachineRequest(body))).toMatch(message);
  });
});
