import type { PaymentGateway } from '../../core/ports.js';
import { minimumChargeCents } from './accepted-methods.js';
import type { MethodFacts } from './payment-method.js';

/**
 * What a function that only describes payments (discovery, validate) knows: which
 * methods are accepted, as the stack lists them. It holds no keys, loads no method and
 * cannot verify a credential.
 */
export function offersOnlyGateway(methods: readonly MethodFacts[]): PaymentGateway {
  return {
    methods: methods.map((method) => method.key),
    minimumChargeCents: minimumChargeCents(methods),
    readCredential: () => ({ kind: 'none' }),
    charge: async () => {
      throw new Error('this function cannot take payments');
    },
    challenge: async () => {
      throw new Error('this function cannot take payments');
    },
    recover: async () => {
      throw new Error('this function cannot take payments');
    },
  };
}
