import { stripeMethod } from './stripe-method.js';
import { testMethod } from './test-method.js';

/**
 * Every payment method the storefront can accept, in the order challenges offer them. A method
 * is one module (payment-method.ts says what it declares); adding one is its module and its
 * line here. The stack, the functions, the local storefront and the preflight check derive
 * everything else from the declarations (lib/payment-method-wiring.ts,
 * payment-methods-in-environment.ts).
 */
export const PAYMENT_METHODS = [stripeMethod, testMethod] as const;
