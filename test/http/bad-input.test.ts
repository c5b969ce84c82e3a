import { randomUUID } from 'node:crypto';
import { GATEWAY_RESPONSES } from '../../lib/api-gateway-document.js';
import { type Harness, orderBody, startHarness } from '../support/harness.js';
import { ed25519Key, rsaKey } from '../support/ssh-keys.js';

/**
 * Each bad body with the handler's message. On AWS the orders and machines endpoints' request
 * validator sees the body first: what the contract's schema refuses gets API Gateway's mapped
 * BAD_REQUEST_BODY answer instead (those rows are listed in REFUSED_BY_GATEWAY); the quote
 * endpoint's body is left to its handler (lib/api-gateway-document.ts, BODY_CHECKED_BY_HANDLER).
 */
const badBodies: [string, unknown, RegExp][] = [
  ['an empty body', '', /request body is required/],
  ['invalid JSON', '{"request_id":', /not valid JSON/],
  ['a JSON array', '[]', /must be a JSON object/],
  ['a JSON string', '"hello"', /must be a JSON object/],
  ['null', 'null', /must be a JSON object/],
  ['a missing request_id', orderBody({ request_id: undefined }), /request_id is required/],
  [
    'a request_id that is not a UUID',
    orderBody({ request_id: '12345' }),
    /request_id must be a UUID/,
  ],
  [
    'the nil UUID as request_id (a guessable secret)',
    orderBody({ request_id: '00000000-0000-0000-0000-000000000000' }),
    /request_id must be a random UUID/,
  ],
  [
    'an all-one-digit request_id',
    orderBody({ request_id: '77777777-7777-7777-7777-777777777777' }),
    /request_id must be a random UUID/,
  ],
  ['an unknown product', orderBody({ product_id: 'quantum-machine' }), /product_id must be one of/],
  [
    'a duration below the minimum',
    orderBody({ duration_minutes: 5 }),
    /duration_minutes must be between 15 and 360/,
  ],
  [
    'a duration above the maximum',
    orderBody({ duration_minutes: 1000 }),
    /duration_minutes must be between 15 and 360/,
  ],
  [
    'a fractional duration',
    orderBody({ duration_minutes: 30.5 }),
    /duration_minutes must be an integer/,
  ],
  [
    'a duration as a string',
    orderBody({ duration_minutes: '30' }),
    /duration_minutes must be an integer/,
  ],
  ['a missing SSH key', orderBody({ ssh_public_key: undefined }), /ssh_public_key is required/],
  [
    'a private key',
    orderBody({
      ssh_public_key: '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----',
    }),
    /private key/,
  ],
  ['two keys', orderBody({ ssh_public_key: `${ed25519Key()}\n${ed25519Key()}` }), /single line/],
  [
    'authorized_keys options',
    orderBody({ ssh_public_key: `no-pty ${ed25519Key()}` }),
    /authorized_keys options/,
  ],
  [
    'a control character',
    orderBody({ ssh_public_key: `${ed25519Key()}\u0007` }),
    /control characters/,
  ],
  ['a short RSA key', orderBody({ ssh_public_key: rsaKey(1024) }), /at least 2048 bits/],
  [
    'an oversized key',
    orderBody({ ssh_public_key: `${ed25519Key()} ${'a'.repeat(9000)}` }),
    /at most 8192 bytes/,
  ],
  [
    'a mislabelled key',
    orderBody({ ssh_public_key: `ssh-rsa ${ed25519Key('').split(' ')[1]}` }),
    /declares type ssh-rsa/,
  ],
  ['an unknown field', { ...orderBody(), price: 0 }, /unknown field "price"/],
  [
    'an oversized body',
    JSON.stringify({ ...orderBody(), pad: 'x'.repeat(70_000) }),
    /at most 65536 bytes/,
  ],
];

/** Bodies the contract's draft-4 schema refuses; the others pass it and meet the handler. */
const REFUSED_BY_GATEWAY = new Set([
  'an empty body',
  'invalid JSON',
  'a JSON array',
  'a JSON string',
  'null',
  'a missing request_id',
  'a request_id that is not a UUID',
  'an unknown product',
  'a duration below the minimum',
  'a duration above the maximum',
  'a fractional duration',
  'a duration as a string',
  'a missing SSH key',
  'an unknown field',
  'an oversized body',
]);

const gatewayAnswer = (
  JSON.parse(GATEWAY_RESPONSES.BAD_REQUEST_BODY?.body ?? '{}') as { error: string }
).error;

describe('bad input over HTTP', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness({ allowUnpaidCreate: true });
  });
  afterAll(() => api.close());

  describe.each([
    ['POST /api/machine/mpp/orders', true, (body: unknown) => api.order(body)],
    ['POST /api/machine/mpp/orders/validate', false, (body: unknown) => api.validate(body)],
    ['POST /api/machines', true, (body: unknown) => api.createUnpaid(body)],
  ])('%s', (_endpoint, bodyValidatedByGateway, send) => {
    it.each(badBodies)('answers 400 to %s and stores nothing', async (label, body, message) => {
      const before = await api.itemCount();
      const reply = await send(body);
      expect(reply.status).toBe(400);
      expect(Object.keys(reply.body)).toEqual(['error']);
      if (bodyValidatedByGateway && REFUSED_BY_GATEWAY.has(label)) {
        expect(reply.body.error).toBe(gatewayAnswer);
      } else {
        expect(reply.body.error).toMatch(message);
      }
      expect(await api.itemCount()).toBe(before);
    });
  });

  it('answers 400 to a bad extension body and leaves the lease alone', async () => {
    const created = await api.createUnpaid(orderBody());
    const machine = created.body as { machine_id: string; management: Record<string, string> };
    for (const body of [
      '',
      '{',
      { additional_minutes: 0 },
      { additional_minutes: 'ten' },
      { minutes: 5 },
    ]) {
      const reply = await api.extend(machine.machine_id, machine.management.extend_token, body);
      expect(reply.status).toBe(400);
    }
    const read = await api.machine(machine.machine_id, machine.management.read_token);
    expect(read.body.lease_minutes).toBe(60);
  });

  it('answers an unknown path with a JSON 404', async () => {
    const reply = await api.request('GET', '/api/nothing-here');
    expect(reply.status).toBe(404);
    expect(reply.body.error).toMatch(/no endpoint/);
    expect((await api.request('PUT', '/api/nothing-here')).status).toBe(404);
  });

  it('validate composes no payment and creates nothing, even when repeated', async () => {
    const before = await api.itemCount();
    const body = orderBody();
    await api.validate(body);
    const reply = await api.validate(body);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('www-authenticate')).toBeNull();
    expect(await api.itemCount()).toBe(before);
  });

  it('keeps request_id case-insensitive: the same UUID in capitals is the same order', async () => {
    const requestId = randomUUID();
    const lower = await api.order(orderBody({ request_id: requestId }));
    const upper = await api.order(orderBody({ request_id: requestId.toUpperCase() }));
    expect(upper.body.order_id).toBe(lower.body.order_id);
  });
});
