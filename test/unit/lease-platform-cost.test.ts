import {
  formatPlatformCost,
  gbSeconds,
  type LeaseUsage,
  measureOneLease,
  PLATFORM_PRICES,
  platformCost,
} from '../../bin/lease-platform-cost.js';
import { STATES } from '../../lib/lease-workflow-definition.js';
import { cachedLocalStack } from '../support/cached-local-stack.js';

const usage: LeaseUsage = {
  product_id: 'bare-linux-machine',
  minutes: 15,
  requests: Array.from({ length: 7 }, () => ({
    method: 'GET',
    path: '/',
    status: 200,
    bytes: 1024 ** 3 / 7,
  })),
  invocations: [
    { function: 'createOrder', ms: 999.2, memoryMb: 512 },
    { function: 'launch', ms: 0.3, memoryMb: 256 },
  ],
  states: Array.from({ length: 40 }, () => 'Read lease'),
  stateTransitions: 40,
  dynamo: { readUnits: 2_000_000, writeUnits: 1_000_000, writeRequests: 500_000 },
  indexes: 2,
  parameterReads: 3,
  secretReads: 20_000,
};

describe('the platform cost of one lease', () => {
  it('prices each quantity at its unit price', () => {
    const { lines, totalUsd } = platformCost(usage);
    const line = (item: string) => lines.find((candidate) => candidate.item.startsWith(item));
    // 7 requests at $3.50 per million.
    expect(line('API Gateway REST')?.usd).toBeCloseTo(0.0000245, 12);
    expect(line('front door requests (CloudFront')?.usd).toBeCloseTo(0.000007, 12);
    expect(line('front door requests (WAF)')?.usd).toBeCloseTo(0.0000042, 12);
    expect(line('response bodies')?.quantity).toBeCloseTo(1, 9);
    expect(line('response bodies')?.usd).toBeCloseTo(0.085, 9);
    // Durations round up to the millisecond: 1000 ms at 0.5 GB plus 1 ms at 0.25 GB.
    expect(gbSeconds(usage.invocations)).toBeCloseTo(0.5 + 0.00025, 12);
    expect(line('Lambda GB-seconds')?.usd).toBeCloseTo(0.50025 * 0.00001667, 12);
    expect(line('Lambda invocations')?.usd).toBeCloseTo(0.0000004, 12);
    // 40 transitions at $0.025 per 1,000.
    expect(line('Step Functions')?.usd).toBeCloseTo(0.001, 12);
    expect(line('DynamoDB read')?.usd).toBeCloseTo(0.25, 12);
    expect(line('DynamoDB write')?.usd).toBeCloseTo(0.625, 12);
    expect(line('DynamoDB index writes')?.quantity).toBe(1_000_000);
    expect(line('Secrets Manager')?.usd).toBeCloseTo(0.1, 12);
    expect(line('Parameter Store')?.usd).toBe(0);
    expect(totalUsd).toBeCloseTo(
      lines.reduce((sum, one) => sum + one.usd, 0),
      12,
    );
  });

  it('quotes every price with its source', () => {
    for (const price of Object.values(PLATFORM_PRICES)) {
      expect(price.source).toMatch(/\(([a-z0-9-]+\.)+[a-z]+\/.*\)/);
      expect(price.quote.length).toBeGreaterThan(10);
    }
  });

  it('counts one real lease run on the local storefront', async () => {
    const measured = await measureOneLease({
      storefront: { synthesizeStack: cachedLocalStack },
    });
    // The agent's six requests and the machine's ready callback, as the front door saw them.
    expect(measured.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([
      'GET /api/products',
      'POST /api/machine/mpp/orders/validate',
      'POST /api/machine/mpp/orders',
      'POST /api/machine/mpp/orders',
      expect.stringMatching(/^POST \/api\/machines\/machine_[0-9a-f]{16}\/ready$/),
      expect.stringMatching(/^GET \/api\/machines\/machine_[0-9a-f]{16}$/),
      expect.stringMatching(/^GET \/api\/machines\/machine_[0-9a-f]{16}$/),
    ]);
    expect(measured.requests.every(({ bytes }) => bytes > 0)).toBe(true);
    // The transitions are the states the synthesised state machine entered for this lease.
    expect(measured.stateTransitions).toBe(measured.states.length);
    expect(measured.states[0]).toBe(STATES.readLease);
    expect(measured.states).toContain(STATES.launch);
    // Every request reached its function; the workflow's Lambda steps ran besides them.
    const functions = measured.invocations.map((invocation) => invocation.function);
    expect(functions.filter((fn) => fn === 'createOrder')).toHaveLength(2);
    expect(functions).toContain('reportMachineReady');
    expect(measured.invocations.length).toBeGreaterThan(measured.requests.length);
    expect(measured.dynamo.readUnits).toBeGreaterThan(0);
    expect(measured.dynamo.writeUnits).toBeGreaterThanOrEqual(measured.dynamo.writeRequests);
    expect(measured.dynamo.writeRequests).toBeGreaterThan(0);

    const { totalUsd } = platformCost(measured);
    expect(totalUsd).toBeGreaterThan(0);
    const table = formatPlatformCost(measured);
    expect(table).toContain(`${measured.stateTransitions} state transitions`);
    expect(table).toMatch(/instance and root volume/);
  }, 60_000);
});
