import type { PaymentGateway } from '../../core/ports.js';
import { acceptedMethods, minimumChargeCents } from './accepted-methods.js';
import type { MethodSwitches } from './payment-method.js';

/**
 * What a function that only describes payments (discovery, validate) knows: which
 * methods are accepted. It holds no keys and cannot verify a credential.
 */
export function offersOnlyGateway(switches: MethodSwitches): PaymentGateway {
  const methods = acceptedMethods(switches);
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
