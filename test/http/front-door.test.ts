import { Receipt } from 'mppx';
import { loadOpenApiDocument, operationsOf } from '../../lambdas/contract/openapi-document.js';
import { ORIGIN_VERIFY_HEADER } from '../../lambdas/http/front-door-only.js';
import { expectContract } from '../support/contract.js';
import { buyMachine, type Harness, orderBody, startHarness } from '../support/harness.js';
import { localStripe } from '../support/stripe-stand-in.js';

/**
 * The agent's view through the local front door, which reproduces the deployed response
 * path: API Gateway REST renaming WWW-Authenticate, then the stack's Lambda@Edge functions.
 */
const stripeSettings = localStripe({
  secretKey: 'sk_test_not_a_real_key',
  networkId: 'profile_test_123',
  testPayments: true,
});

describe('through the front door as deployed', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness(stripeSettings);
  });
  afterAll(() => api.close());

  it('delivers every payment challenge of a 402 in WWW-Authenticate', async () => {
    const reply = await api.order(orderBody());
    expect(reply.status).toBe(402);
    const challenges = reply.headers.get('www-authenticate') ?? '';
    expect(challenges).toContain('method="test"');
    expect(challenges).toContain('method="stripe"');
    expect(reply.headers.get('x-amzn-remapped-www-authenticate')).toBeNull();
  });

  it('lets the stock mppx client pay for an order and for an extension', async () => {
    const { machineId, tokens } = await buyMachine(api);
    await api.waitForStatus(machineId, tokens.read_token, ['active']);
    const unpaid = await api.extend(machineId, tokens.extend_token, { additional_minutes: 15 });
    expect(unpaid.status).toBe(402);
    expect(unpaid.headers.get('www-authenticate')).toContain('method="test"');
    const extended = await api.payExtension(machineId, tokens.extend_token, {
      additional_minutes: 15,
    });
    expect(extended.status).toBe(200);
    expect(Receipt.deserialize(extended.headers.get('payment-receipt') ?? '').method).toBe('test');
  });

  it('delivers the bearer challenge of every 401', async () => {
    const { machineId } = await buyMachine(api);
    const replies = [
      await api.machine(machineId),
      await api.terminate(machineId),
      await api.extend(machineId, undefined, { additional_minutes: 15 }),
    ];
    for (const reply of replies) {
      expect(reply.status).toBe(401);
      expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(reply.headers.get('x-amzn-remapped-www-authenticate')).toBeNull();
    }
  });
});

describe('through API Gateway without the edge function', () => {
  let api: Harness;
  beforeAll(async () => {
    // This deployment breaks the contract on purpose (no challenge an agent can see).
    api = await startHarness({ frontDoor: { edgeFunctions: 'none' } }, { checkContract: false });
  });
  afterAll(() => api.close());

  it('hides the challenge under x-amzn-Remapped-WWW-Authenticate, as API Gateway does', async () => {
    const reply = await api.order(orderBody());
    expect(reply.status).toBe(402);
    expect(reply.headers.get('www-authenticate')).toBeNull();
    expect(reply.headers.get('x-amzn-remapped-www-authenticate')).toContain('method="test"');
  });

  it('leaves the stock mppx client unable to pay: it finds no challenge at all', async () => {
    const before = await api.itemCount();
    await expect(api.payOrder(orderBody())).rejects.toThrow(/No method found for challenges: \./);
    // The unpaid order is opened, as with any first 402; nothing is paid or provisioned.
    expect(await api.itemCount()).toBe(before + 1);
  });
});

describe("on the API's own (execute-api) URL, past the front door", () => {
  let api: Harness;
  let executeApi: string;
  beforeAll(async () => {
    api = await startHarness({ frontDoor: { executeApiEntrance: true } });
    executeApi = api.executeApiUrl ?? '';
  });
  afterAll(() => api.close());

  const direct = (method: string, path: string, init: RequestInit = {}) =>
    fetch(`${executeApi}${path}`, { method, ...init });

  it('refuses every operation with 421, naming the front door, before anything runs', async () => {
    const { machineId, tokens } = await buyMachine(api);
    const before = await api.itemCount();
    const samples: Record<string, unknown> = {
      createOrder: orderBody(),
      validateOrder: orderBody(),
      createMachine: orderBody(),
      extendMachine: { additional_minutes: 15 },
    };
    for (const { operationId, method, path } of operationsOf(loadOpenApiDocument())) {
      const body = samples[operationId];
      const response = await direct(
        method.toUpperCase(),
        path.replace('{machine_id}', machineId).replace('{order_id}', `order_${'0'.repeat(32)}`),
        {
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${tokens.terminate_token}`,
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
        },
      );
      const reply = (await response.json()) as { error: string };
      expect({ operationId, status: response.status }).toEqual({ operationId, status: 421 });
      expectContract(operationId, response.status, reply);
      expect(reply.error).toBe(
        `Call the storefront through its front door: ${api.url}/ (this address is its origin and answers the front door only; the API description is ${api.url}/openapi.json)`,
      );
      // No payment challenge either: nothing past the stage's web ACL ran.
      expect(response.headers.get('www-authenticate')).toBeNull();
      expect(response.headers.get('x-amzn-remapped-www-authenticate')).toBeNull();
    }
    expect(await api.itemCount()).toBe(before);
    expect((await api.machine(machineId, tokens.read_token)).body.status).not.toBe('terminated');
  });

  it('refuses a request that names the origin header with a guessed value, and unknown paths too', async () => {
    for (const value of ['', 'guess', 'x'.repeat(48)]) {
      const response = await direct('GET', '/api/health', {
        headers: { [ORIGIN_VERIFY_HEADER]: value },
      });
      expect(response.status).toBe(421);
    }
    expect((await direct('GET', '/no/such/path')).status).toBe(421);
  });

  it('still answers at the front door, whatever origin header or forwarded host a viewer sends', async () => {
    const reply = await api.request('GET', '/openapi.json', {
      headers: { [ORIGIN_VERIFY_HEADER]: 'guess', 'x-forwarded-host': 'attacker.example' },
    });
    expect(reply.status).toBe(200);
    expect(JSON.stringify(reply.body)).not.toContain('attacker.example');
  });
});
