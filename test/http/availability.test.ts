import { buyMachine, type Harness, orderBody, startHarness } from '../support/harness.js';

const gpuOrder = () => orderBody({ product_id: 'gpu-h100-machine', duration_minutes: 60 });

describe('an account with no GPU quota (a fresh AWS account: 0 vCPUs of P instances)', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness({ ec2Limits: { vcpuQuotas: { p: 0 } } });
  });
  afterAll(() => api.close());

  it('says so in the price list, product by product', async () => {
    const prices = await api.request('GET', '/api/products');
    expect(prices.status).toBe(200);
    expect(
      (prices.body.products as { availability: unknown }[]).map((product) => product.availability),
    ).toEqual([
      {
        product_id: 'bare-linux-machine',
        available: true,
        checked: ['zone-offerings', 'vcpu-quota'],
      },
      {
        product_id: 'gpu-h100-machine',
        available: false,
        reason: expect.stringMatching(/Running On-Demand P instances quota of 0 vCPUs/),
        retry_after_seconds: 3600,
      },
    ]);
  });

  it('refuses a GPU quote with 503 and Retry-After', async () => {
    const quote = await api.validate(gpuOrder());
    expect(quote.status).toBe(503);
    expect(quote.headers.get('retry-after')).toBe('3600');
    expect(String(quote.body.error)).toMatch(
      /^gpu-h100-machine cannot be provided right now: .*p5\.4xlarge needs 16.*Nothing was charged/,
    );
  });

  it('answers a paying agent 503 before any 402: no challenge, no charge, nothing stored', async () => {
    const itemsBefore = await api.itemCount();
    const launchesBefore = api.fleet.ec2.calls.filter((c) => c.command === 'RunInstancesCommand');
    // The mppx client pays only when challenged; a 503 comes straight back.
    const reply = await api.payOrder(gpuOrder());
    expect(reply.status).toBe(503);
    expect(reply.headers.get('www-authenticate')).toBeNull();
    expect(reply.headers.get('payment-receipt')).toBeNull();
    expect(reply.headers.get('retry-after')).toBe('3600');
    expect(await api.itemCount()).toBe(itemsBefore);
    expect(api.fleet.ec2.calls.filter((c) => c.command === 'RunInstancesCommand')).toEqual(
      launchesBefore,
    );
    const events = api.log.entries.map((entry) => entry.event);
    expect(events).toContain('order.unavailable');
    expect(events).not.toContain('order.settled');
  });

  it('still sells the products it can launch', async () => {
    const lease = await buyMachine(api, { duration_minutes: 15 });
    expect(lease.reply.status).toBe(202);
  });
});

describe('an instance type offered in none of the zones', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness({ ec2Limits: { notOffered: ['p5.4xlarge'] } });
  });
  afterAll(() => api.close());

  it('refuses the GPU order before the challenge, naming the zones', async () => {
    const reply = await api.order(gpuOrder());
    expect(reply.status).toBe(503);
    expect(reply.headers.get('retry-after')).toBe('3600');
    expect(String(reply.body.error)).toMatch(
      /p5\.4xlarge is not offered in the zones this storefront launches into \(local-1a, local-1b\)/,
    );
    const prices = await api.request('GET', '/api/products');
    expect(
      (prices.body.products as { availability: unknown }[]).map((product) => product.availability),
    ).toContainEqual(expect.objectContaining({ product_id: 'gpu-h100-machine', available: false }));
  });
});

/** Waits (at most 5 s) for something the workflow does right after the answer. */
async function eventually(condition: () => boolean) {
  for (let i = 0; i < 500 && !condition(); i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}

describe('the machine knows its deadline', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness();
  });
  afterAll(() => api.close());

  const leaseFileOf = (machineId: string) => {
    const instance = api.fleet.ec2
      .running()
      .find((candidate) =>
        candidate.Tags?.some(
          (tag) => tag.Key === 'storefront:machine-id' && tag.Value === machineId,
        ),
      );
    if (!instance?.InstanceId) throw new Error(`no instance for ${machineId}`);
    return api.fleet.ec2.leaseTimer(instance.InstanceId)?.leaseFile;
  };

  it('reports seconds_left, and the lease file follows activation and an extension', async () => {
    const lease = await buyMachine(api, { duration_minutes: 30 });
    const provisioning = await api.machine(lease.machineId, lease.tokens.read_token);
    expect(provisioning.body).toMatchObject({ status: 'provisioning', seconds_left: 30 * 60 });

    const active = await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
    const left = Number(active.body.seconds_left);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(30 * 60);
    // The machine calls back and its lease is active at once; the hold that follows moves the
    // lease-end tag the machine reads (a step of the workflow, well under a second).
    await eventually(() => leaseFileOf(lease.machineId) === `${active.body.expires_at}\n`);

    const extended = await api.payExtension(lease.machineId, lease.tokens.extend_token, {
      additional_minutes: 10,
    });
    expect(extended.status).toBe(200);
    expect(extended.body.expires_at).not.toBe(active.body.expires_at);
    await eventually(() => leaseFileOf(lease.machineId) === `${extended.body.expires_at}\n`);
    const after = await api.machine(lease.machineId, lease.tokens.read_token);
    expect(Number(after.body.seconds_left)).toBeGreaterThan(left);

    await api.terminate(lease.machineId, lease.tokens.terminate_token);
    const ended = await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['terminated']);
    expect(ended.body.seconds_left).toBe(0);
  });
});

describe('an order paid before its product ran out', () => {
  const reservation = 'cr-0123456789abcdef0';
  let api: Harness;
  beforeAll(async () => {
    api = await startHarness({
      clockSpeedup: 60,
      catalogOverride: {
        'gpu-h100-machine': {
          instance: { capacityBlocks: { reservationIds: [reservation], whenUnavailable: 'fail' } },
        },
      },
    });
  });
  afterAll(() => api.close());

  const blockWithRoom = (instances: number) => {
    api.fleet.ec2.capacityReservations = [
      {
        CapacityReservationId: reservation,
        AvailabilityZone: 'local-1b',
        AvailableInstanceCount: instances,
        EndDate: new Date(api.storefront.clock.now().getTime() + 24 * 3_600_000),
        State: 'active',
      },
    ];
    // The capacity watcher's schedule, run now that the account's blocks changed.
    return api.fleet.watchCapacity();
  };

  it('is answered again without payment, while new orders for the product are refused', async () => {
    await blockWithRoom(1);
    const body = gpuOrder();
    const paid = await api.payOrder(body);
    expect(paid.status).toBe(202);
    await blockWithRoom(0);

    // The order function trusts the snapshot it read for a minute of the lease clock (one real
    // second here): new orders are refused once that has lapsed.
    const deadline = Date.now() + 10_000;
    let refused = await api.order(gpuOrder());
    while (refused.status === 402 && Date.now() < deadline) refused = await api.order(gpuOrder());
    expect(refused.status).toBe(503);
    const retried = await api.order(body);
    expect(retried.status).toBe(202);
    expect(retried.headers.get('www-authenticate')).toBeNull();
    expect(retried.body.machine).toMatchObject({
      machine_id: (paid.body.machine as { machine_id: string }).machine_id,
    });
  });
});
