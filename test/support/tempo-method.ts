import { Errors, Method, z } from 'mppx';
import * as zod from 'zod';
import { paymentMethod } from '../../lambdas/adapters/payments/payment-method.js';

/**
 * A third payment method that exists only in tests: an on-chain method as a module would
 * declare it (a signer key in Secrets Manager, an RPC endpoint, a KMS permission), to show
 * that the stack, the functions and the preflight derive everything from the declaration.
 * Its server method verifies nothing: the tests only look at what it is given.
 */
export const TEMPO_SIGNER_ARN = 'arn:aws:kms:us-east-1:000000000000:key/tempo-signer';

/** What the last `charging` and `refunding` were given (for the tests to check). */
export const tempoSeen: { charging?: unknown; refunding?: unknown } = {};

const definition = () =>
  Method.from({
    name: 'tempo',
    intent: 'charge',
    schema: {
      credential: { payload: z.object({ hash: z.string() }) },
      request: z.object({ amount: z.string(), currency: z.string() }),
    },
  });

export const tempoMethod = paymentMethod({
  facts: { key: 'tempo/charge', name: 'tempo', minimumChargeCents: 1 },
  currency: 'usd',
  context: {
    tempoSignerSecretName: zod.string().min(1).optional(),
    tempoRpcUrl: zod.url().optional(),
    tempoTestnet: zod.boolean().optional(),
  },
  isOn: (context) => Boolean(context.tempoSignerSecretName),
  misconfigured: (context) =>
    context.tempoSignerSecretName && !context.tempoRpcUrl
      ? 'storefront:tempoSignerSecretName needs storefront:tempoRpcUrl'
      : undefined,
  turnedOnBy: 'storefront:tempoSignerSecretName + storefront:tempoRpcUrl',
  money: {
    moves: 'real',
    liveAtSynth: (context) =>
      context.tempoTestnet === true ? undefined : 'Tempo unless storefront:tempoTestnet=true',
    liveSecrets: (secrets) => !secrets.signerKey?.startsWith('testnet_'),
  },
  secrets: {
    signerKey: {
      nameKey: 'tempoSignerSecretName',
      arnVariable: 'TEMPO_SIGNER_SECRET_ARN',
      holds: 'the Tempo signer key',
      example: '0x…',
      forRefunds: true,
    },
  },
  environment: { TEMPO_RPC_URL: zod.url() },
  environmentFrom: (context) => ({ TEMPO_RPC_URL: context.tempoRpcUrl ?? '' }),
  permissions: [{ actions: ['kms:Sign'], resources: [TEMPO_SIGNER_ARN] }],
  egress: ['rpc.tempo.example:443'],
  charging(input) {
    tempoSeen.charging = { environment: input.environment, secrets: input.secrets };
    return {
      server: Method.toServer(definition(), {
        defaults: { currency: 'usd' },
        async validate() {
          throw new Errors.VerificationFailedError({ reason: 'tempo is a test double' });
        },
      } as never),
      offer: (terms) => ({ amount: String(terms.amountCents) }),
      recover: async () => ({ kind: 'not_charged' }),
    };
  },
  refunding(input) {
    tempoSeen.refunding = { environment: input.environment, secrets: input.secrets };
    return async ({ idempotencyKey }) => ({
      status: 'refunded',
      reference: `tempo_${idempotencyKey}`,
    });
  },
});
