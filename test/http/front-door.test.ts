import { Receipt } from 'mppx';
import { buyMachine, type Harness, orderBody, startHarness } from '../support/harness.js';

/**
 * The agent's view through the local front door, which reproduces the deployed response
 * path: API Gateway REST renaming WWW-Authenticate, then the stack's Lambda@Edge functions.
 */
const stripeSettings = {
  secretKey: 'sk_test_not_a_real_key',
  networkId: 'profile_test_123',
  paymentMethodTypes: ['card'],
};

describe('through the front door as deployed', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness({ testPayments: true, stripe: stripeSettings });
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
    api = await startHarness({ frontDoor: { edgeFunctions: 'none' } });
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
