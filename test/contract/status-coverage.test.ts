import { existsSync, readFileSync } from 'node:fs';
import { loadOpenApiDocument, operationsOf } from '../../lambdas/contract/openapi-document.js';

/**
 * Each status code openapi.json documents, and the test that produces it over HTTP (the
 * answer then checked against the contract). Built from a run with STATUS_LOG set, which logs
 * every checked answer with its test. `shared` marks a status every operation gets from one
 * shared mechanism, shown once for the operation named.
 */
type Producer = { file: string; test: string; shared?: string };

const PRODUCED_BY: Record<string, Producer> = {
  'createOrder 403': {
    file: 'test/http/blocks.test.ts',
    test: 'refuses a client address range as the front door sees the client',
  },
  'validateOrder 403': {
    file: 'test/http/blocks.test.ts',
    test: 'refuses a blocked SSH key with the reason and the policy URL, storing nothing',
  },
  'getAcceptableUse 200': {
    file: 'test/http/acceptable-use.test.ts',
    test: 'is served as Markdown and says what is prohibited, what happens, what is refunded',
  },
  'getAcceptableUse 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'getAcceptableUse 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429',
    shared: 'every operation shares the front door limiter',
  },
  'getAcceptableUse 500': {
    file: 'test/money/order-settlement.test.ts',
    test: 'one charge, one machine',
    shared:
      "the middleware that answers any unexpected failure with this 500 (lambdas/http/api-handler.ts) is every operation's",
  },
  'getAgentStorefront 200': {
    file: 'test/http/discovery.test.ts',
    test: 'describes the storefront from the catalog, at its own URL',
  },
  'getAgentStorefront 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'getAgentStorefront 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429',
    shared: 'every operation shares the front door limiter',
  },
  'getAgentStorefront 500': {
    file: 'test/money/order-settlement.test.ts',
    test: 'one charge, one machine',
    shared:
      "the middleware that answers any unexpected failure with this 500 (lambdas/http/api-handler.ts) is every operation's",
  },
  'getDiscoveryDocument 200': {
    file: 'test/http/discovery.test.ts',
    test: 'serves the contract pointed at this server, valid as an MPP discovery document',
  },
  'getDiscoveryDocument 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'getDiscoveryDocument 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429, Retry-After and {error}; another client is unaffected',
    shared: 'every operation shares the front door limiter',
  },
  'getDiscoveryDocument 500': {
    file: 'test/money/order-settlement.test.ts',
    test: 'one charge, one machine',
    shared:
      "the middleware that answers any unexpected failure with this 500 (lambdas/http/api-handler.ts) is every operation's",
  },
  'health 200': {
    file: 'test/http/discovery.test.ts',
    test: 'shows the storefront time in health and in a 402 body',
  },
  'health 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'health 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429, Retry-After and {error}; another client is unaffected',
    shared: 'every operation shares the front door limiter',
  },
  'health 500': {
    file: 'test/money/order-settlement.test.ts',
    test: 'one charge, one machine',
    shared:
      "the middleware that answers any unexpected failure with this 500 (lambdas/http/api-handler.ts) is every operation's",
  },
  'getServiceIndex 200': {
    file: 'test/http/discovery.test.ts',
    test: 'GET / points at the guide, the contract, the price list and health',
  },
  'getServiceIndex 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'getServiceIndex 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429, Retry-After and {error}; another client is unaffected',
    shared: 'every operation shares the front door limiter',
  },
  'getServiceIndex 500': {
    file: 'test/money/order-settlement.test.ts',
    test: 'one charge, one machine',
    shared:
      "the middleware that answers any unexpected failure with this 500 (lambdas/http/api-handler.ts) is every operation's",
  },
  'getAgentGuide 200': {
    file: 'test/http/discovery.test.ts',
    test: 'shows the storefront time in health and in a 402 body',
  },
  'getAgentGuide 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'getAgentGuide 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429, Retry-After and {error}; another client is unaffected',
    shared: 'every operation shares the front door limiter',
  },
  'getAgentGuide 500': {
    file: 'test/money/order-settlement.test.ts',
    test: 'one charge, one machine',
    shared:
      "the middleware that answers any unexpected failure with this 500 (lambdas/http/api-handler.ts) is every operation's",
  },
  'listProducts 200': {
    file: 'test/http/availability.test.ts',
    test: 'refuses the GPU order before the challenge, naming the zones',
  },
  'listProducts 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'listProducts 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429, Retry-After and {error}; another client is unaffected',
    shared: 'every operation shares the front door limiter',
  },
  'listProducts 500': {
    file: 'test/money/order-settlement.test.ts',
    test: 'one charge, one machine',
    shared:
      "the middleware that answers any unexpected failure with this 500 (lambdas/http/api-handler.ts) is every operation's",
  },
  'createMachine 202': {
    file: 'test/http/bad-input.test.ts',
    test: 'answers 400 to a bad extension body and leaves the lease alone',
  },
  'createMachine 400': { file: 'test/http/bad-input.test.ts', test: 'answers 400 to' },
  'createMachine 403': {
    file: 'test/http/unpaid-create.test.ts',
    test: 'is refused with 403 pointing at the paid endpoint, storing nothing',
  },
  'createMachine 409': {
    file: 'test/http/unpaid-create.test.ts',
    test: 'creates a machine with management tokens, once per request_id',
  },
  'createMachine 503': {
    file: 'test/http/availability.test.ts',
    test: 'answers a paying agent 503 before any 402',
    shared:
      'createMachine refuses with the same capacity check (lambdas/core/use-cases/require-capacity.ts)',
  },
  'createMachine 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'createMachine 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429, Retry-After and {error}; another client is unaffected',
    shared: 'every operation shares the front door limiter',
  },
  'createMachine 500': {
    file: 'test/money/order-settlement.test.ts',
    test: 'one charge, one machine',
    shared:
      "the middleware that answers any unexpected failure with this 500 (lambdas/http/api-handler.ts) is every operation's",
  },
  'validateOrder 200': {
    file: 'test/http/stripe-payments.test.ts',
    test: 'offers only Stripe, priced in dollars',
  },
  'validateOrder 400': {
    file: 'test/http/rate-limits.test.ts',
    test: 'keeps writes on their own budget',
  },
  'validateOrder 503': {
    file: 'test/http/availability.test.ts',
    test: 'refuses a GPU quote with 503 and Retry-After',
  },
  'validateOrder 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'validateOrder 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429, Retry-After and {error}; another client is unaffected',
    shared: 'every operation shares the front door limiter',
  },
  'validateOrder 500': {
    file: 'test/money/order-settlement.test.ts',
    test: 'one charge, one machine',
    shared:
      "the middleware that answers any unexpected failure with this 500 (lambdas/http/api-handler.ts) is every operation's",
  },
  'createOrder 202': {
    file: 'test/workflow/lease-lifecycle.test.ts',
    test: 'retries a throttled launch and goes on',
  },
  'createOrder 400': {
    file: 'test/security/hostile-agent.test.ts',
    test: 'cannot put a second authorized_keys line through its key: refused before any challenge',
  },
  'createOrder 402': {
    file: 'test/http/stripe-payments.test.ts',
    test: 'offers only Stripe, priced in dollars',
  },
  'createOrder 409': {
    file: 'test/http/crash-repair.test.ts',
    test: 'is refused, not re-created, long after payment',
  },
  'createOrder 502': {
    file: 'test/money/stripe-settlement.test.ts',
    test: 'waits for a processing PaymentIntent instead of charging another token',
  },
  'createOrder 503': {
    file: 'test/workflow/lease-lifecycle.test.ts',
    test: 'fails the lease, as configured, when no block has room',
  },
  'createOrder 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'createOrder 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429, Retry-After and {error}; another client is unaffected',
    shared: 'every operation shares the front door limiter',
  },
  'createOrder 500': {
    file: 'test/money/order-settlement.test.ts',
    test: 'one charge, one machine',
  },
  'getOrder 200': {
    file: 'test/workflow/lease-lifecycle.test.ts',
    test: 'fails a lease stuck in provisioning and releases its instance',
  },
  'getOrder 404': {
    file: 'test/http/agent-journey.test.ts',
    test: 'reports unknown and malformed order ids as 404',
  },
  'getOrder 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'getOrder 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429, Retry-After and {error}; another client is unaffected',
    shared: 'every operation shares the front door limiter',
  },
  'getOrder 500': {
    file: 'test/money/order-settlement.test.ts',
    test: 'one charge, one machine',
    shared:
      "the middleware that answers any unexpected failure with this 500 (lambdas/http/api-handler.ts) is every operation's",
  },
  'getMachine 200': {
    file: 'test/workflow/lease-lifecycle.test.ts',
    test: 'retries a throttled launch and goes on',
  },
  'getMachine 401': { file: 'test/http/machine-access.test.ts', test: 'another scheme' },
  'getMachine 403': {
    file: 'test/http/machine-access.test.ts',
    test: 'lets each token do only its own operation',
  },
  'getMachine 404': {
    file: 'test/http/machine-access.test.ts',
    test: 'answers 404 to a machine id that does not match the contract pattern',
  },
  'getMachine 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'getMachine 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429, Retry-After and {error}; another client is unaffected',
    shared: 'every operation shares the front door limiter',
  },
  'getMachine 500': {
    file: 'test/money/order-settlement.test.ts',
    test: 'one charge, one machine',
    shared:
      "the middleware that answers any unexpected failure with this 500 (lambdas/http/api-handler.ts) is every operation's",
  },
  'terminateMachine 200': {
    file: 'test/workflow/lease-lifecycle.test.ts',
    test: 'terminates on DELETE by waking the held lease',
  },
  'terminateMachine 401': { file: 'test/http/machine-access.test.ts', test: 'another scheme' },
  'terminateMachine 403': {
    file: 'test/http/machine-access.test.ts',
    test: 'lets each token do only its own operation',
  },
  'terminateMachine 404': {
    file: 'test/http/machine-access.test.ts',
    test: 'answers 404 to a machine id that does not match the contract pattern',
  },
  'terminateMachine 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'terminateMachine 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429, Retry-After and {error}; another client is unaffected',
    shared: 'every operation shares the front door limiter',
  },
  'terminateMachine 500': {
    file: 'test/money/order-settlement.test.ts',
    test: 'one charge, one machine',
    shared:
      "the middleware that answers any unexpected failure with this 500 (lambdas/http/api-handler.ts) is every operation's",
  },
  'extendMachine 200': {
    file: 'test/workflow/lease-lifecycle.test.ts',
    test: 'holds on after an extension and ends at the extended time',
  },
  'extendMachine 400': {
    file: 'test/http/machine-access.test.ts',
    test: 'refuses to extend a terminated machine',
  },
  'extendMachine 401': { file: 'test/http/machine-access.test.ts', test: 'another scheme' },
  'extendMachine 403': {
    file: 'test/http/machine-access.test.ts',
    test: 'lets each token do only its own operation',
  },
  'extendMachine 404': {
    file: 'test/http/machine-access.test.ts',
    test: 'answers 404 to a machine id that does not match the contract pattern',
  },
  'extendMachine 402': {
    file: 'test/workflow/lease-lifecycle.test.ts',
    test: 'holds on after an extension and ends at the extended time',
  },
  'extendMachine 409': {
    file: 'test/http/machine-access.test.ts',
    test: 'charges a retried extension with the same request_id only once',
  },
  'extendMachine 502': {
    file: 'test/money/stripe-extensions.test.ts',
    test: 'retries an extension refund that failed at the bank, from the sweeper, until it is made once',
  },
  'extendMachine 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'extendMachine 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429, Retry-After and {error}; another client is unaffected',
    shared: 'every operation shares the front door limiter',
  },
  'extendMachine 500': {
    file: 'test/money/extension-settlement.test.ts',
    test: 'a charge whose answer was lost is applied exactly once',
  },
  'reportMachineReady 200': {
    file: 'test/http/machine-ready.test.ts',
    test: 'answers 503 (retry) while EC2 lists no address, activating nothing',
  },
  'reportMachineReady 400': {
    file: 'test/http/machine-ready.test.ts',
    test: 'refuses a missing, malformed, forged or other machine secret, and a bad body, changing nothing',
  },
  'reportMachineReady 401': {
    file: 'test/http/machine-ready.test.ts',
    test: 'refuses a missing, malformed, forged or other machine secret, and a bad body, changing nothing',
  },
  'reportMachineReady 403': {
    file: 'test/http/machine-ready.test.ts',
    test: 'refuses a missing, malformed, forged or other machine secret, and a bad body, changing nothing',
  },
  'reportMachineReady 404': {
    file: 'test/http/machine-ready.test.ts',
    test: 'refuses a missing, malformed, forged or other machine secret, and a bad body, changing nothing',
  },
  'reportMachineReady 409': {
    file: 'test/http/machine-ready.test.ts',
    test: 'refuses a replay after activation, and a callback after DELETE, changing nothing',
  },
  'reportMachineReady 421': {
    file: 'test/http/front-door.test.ts',
    test: 'refuses every operation with 421, naming the front door, before anything runs',
  },
  'reportMachineReady 429': {
    file: 'test/http/rate-limits.test.ts',
    test: 'answers the 121st read of a minute from one client with 429, Retry-After and {error}; another client is unaffected',
    shared: 'every operation shares the front door limiter',
  },
  'reportMachineReady 500': {
    file: 'test/money/order-settlement.test.ts',
    test: 'one charge, one machine',
    shared:
      "the middleware that answers any unexpected failure with this 500 (lambdas/http/api-handler.ts) is every operation's",
  },
  'reportMachineReady 503': {
    file: 'test/http/machine-ready.test.ts',
    test: 'answers 503 (retry) while EC2 lists no address, activating nothing',
  },
};

describe('every documented status has a test that produces it', () => {
  const documented = operationsOf(loadOpenApiDocument()).flatMap(({ operationId, operation }) =>
    Object.keys(operation.responses).map((status) => `${operationId} ${status}`),
  );

  it('lists each documented status, and only those', () => {
    expect(Object.keys(PRODUCED_BY).sort()).toEqual([...documented].sort());
  });

  it('names a test that exists in the named file', () => {
    const missing = Object.entries(PRODUCED_BY).filter(
      ([, { file, test }]) => !existsSync(file) || !readFileSync(file, 'utf8').includes(test),
    );
    expect(missing).toEqual([]);
  });
});
