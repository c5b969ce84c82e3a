import { ConfigError, cdkJsonContext, readConfig } from '../../lib/config.js';

const defaults = cdkJsonContext();

describe('operator configuration from CDK context', () => {
  it('takes every default from cdk.json', () => {
    const config = readConfig(defaults);
    expect(config).toMatchObject({
      stageName: 'v1',
      allowUnpaidMachineCreate: false,
      refundUnusedMinutes: true,
      testPayments: false,
      throttleRateLimit: 50,
      provisioningTimeoutMinutes: 15,
      removalPolicy: 'retain',
    });
    expect(config.catalog['bare-linux-machine'].baseFeeCents).toBe(99);
  });

  it('parses command-line strings (-c key=value) into booleans, numbers and JSON', () => {
    const config = readConfig({
      ...defaults,
      'storefront:testPayments': 'true',
      'storefront:throttleRateLimit': '20',
      'storefront:products': '{"gpu-h100-machine":{"centsPerMinute":20}}',
      'storefront:stripePaymentMethodTypes': 'card, link',
    });
    expect(config.testPayments).toBe(true);
    expect(
      readConfig({ ...defaults, 'storefront:refundUnusedMinutes': 'false' }).refundUnusedMinutes,
    ).toBe(false);
    expect(config.throttleRateLimit).toBe(20);
    expect(config.catalog['gpu-h100-machine'].centsPerMinute).toBe(20);
    expect(config.stripePaymentMethodTypes).toEqual(['card', 'link']);
    expect(
      readConfig({
        ...defaults,
        'storefront:abuseFindings': '{"types":["CryptoCurrency:EC2/"],"minSeverity":"7"}',
      }).abuseFindings,
    ).toEqual({ types: ['CryptoCurrency:EC2/'], minSeverity: 7 });
  });

  it.each([
    [{ 'storefront:colour': 'blue' }, /unknown context key storefront:colour/],
    [{ 'storefront:throttleRateLimit': 'fast' }, /storefront:throttleRateLimit/],
    [{ 'storefront:testPayments': 'yes' }, /storefront:testPayments/],
    [{ 'storefront:products': '{oops' }, /storefront:products.*not valid JSON/],
    [
      { 'storefront:products': { 'gpu-h100-machine': { maxMinutes: 999 } } },
      /storefront:products.*maxMinutes/,
    ],
    [{ 'storefront:stripeSecretName': 'x' }, /needs storefront:stripeNetworkId/],
    [{ 'storefront:domainName': 'compute.example.com' }, /go together/],
    [{ 'storefront:stageName': 'v 1' }, /storefront:stageName/],
    [{ 'storefront:removalPolicy': 'maybe' }, /storefront:removalPolicy/],
    [
      { 'storefront:acceptableUsePolicy': 'x'.repeat(3001) },
      /storefront:acceptableUsePolicy: must be at most 3000 bytes/,
    ],
    [
      { 'storefront:abuseFindings': { types: ['CryptoCurrency EC2'], minSeverity: 4 } },
      /storefront:abuseFindings\.types\.0: each type is a GuardDuty finding type or its start/,
    ],
    [
      { 'storefront:abuseFindings': { types: [], minSeverity: 4 } },
      /storefront:abuseFindings\.types/,
    ],
    [
      { 'storefront:abuseFindings': { types: ['Backdoor:EC2/'], minSeverity: 11 } },
      /storefront:abuseFindings\.minSeverity/,
    ],
    [
      { 'storefront:abuseFindings': { types: ['Backdoor:EC2/'], minSeverity: 4, extra: 1 } },
      /context storefront:abuseFindings: Unrecognized key: "extra"/,
    ],
    [{ 'storefront:guardDutyDetector': 'maybe' }, /storefront:guardDutyDetector/],
  ])('fails the synth on %j with a clear message', (override, message) => {
    expect(() => readConfig({ ...defaults, ...override })).toThrow(ConfigError);
    expect(() => readConfig({ ...defaults, ...override })).toThrow(message);
  });

  it('fails the synth on a catalog that sells below cost, naming the product and the duration', () => {
    const oldGpuPrice = { 'gpu-h100-machine': { baseFeeCents: 199, centsPerMinute: 9 } };
    const context = { ...defaults, 'storefront:products': oldGpuPrice };
    expect(() => readConfig(context)).toThrow(ConfigError);
    expect(() => readConfig(context)).toThrow(
      /gpu-h100-machine loses money on a 15-minute lease: price \$3\.34 < AWS cost/,
    );
  });

  it('accepts a loss-making product the operator names in allowLossMakingProducts', () => {
    const config = readConfig({
      ...defaults,
      'storefront:products': { 'gpu-h100-machine': { baseFeeCents: 199, centsPerMinute: 9 } },
      'storefront:allowLossMakingProducts': '["gpu-h100-machine"]',
    });
    expect(config.catalog['gpu-h100-machine'].centsPerMinute).toBe(9);
    expect(config.allowLossMakingProducts).toEqual(['gpu-h100-machine']);
    expect(() =>
      readConfig({ ...defaults, 'storefront:allowLossMakingProducts': ['cpu-machine'] }),
    ).toThrow(/storefront:allowLossMakingProducts/);
  });

  it('refuses a context with a default missing, naming it', () => {
    const { 'storefront:retentionDays': _dropped, ...rest } = defaults;
    expect(() => readConfig(rest)).toThrow(/missing context storefront:retentionDays/);
  });

  it('ignores context keys that belong to CDK itself', () => {
    expect(() =>
      readConfig({ ...defaults, '@aws-cdk/core:newStyleStackSynthesis': true }),
    ).not.toThrow();
  });
});

describe('payment configuration that would take money it should not', () => {
  it('refuses the test method beside Stripe unless Stripe is declared to be in test mode', () => {
    const stripe = {
      'storefront:stripeSecretName': 'storefront/stripe',
      'storefront:stripeNetworkId': 'profile_123',
      'storefront:testPayments': 'true',
    };
    expect(() => readConfig({ ...cdkJsonContext(), ...stripe })).toThrow(
      /testPayments cannot be on beside Stripe unless storefront:stripeTestMode=true/,
    );
    expect(
      readConfig({ ...cdkJsonContext(), ...stripe, 'storefront:stripeTestMode': 'true' })
        .testPayments,
    ).toBe(true);
  });

  it('refuses a catalog priced below what the payment methods can charge', () => {
    expect(() =>
      readConfig({
        ...cdkJsonContext(),
        'storefront:stripeSecretName': 'storefront/stripe',
        'storefront:stripeNetworkId': 'profile_123',
        'storefront:products': { 'bare-linux-machine': { baseFeeCents: 0, centsPerMinute: 1 } },
        // Even a product the operator sells at a loss on purpose must be payable at all.
        'storefront:allowLossMakingProducts': ['bare-linux-machine'],
      }),
    ).toThrow(
      /bare-linux-machine costs 0\.15 USD for its minimum of 15 minutes, below the 0\.50 USD/,
    );
  });
});
