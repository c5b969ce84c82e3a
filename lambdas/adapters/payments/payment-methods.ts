import type { MethodFacts, PaymentMethod } from './payment-method.js';
import { STRIPE_CHARGE, stripeMethod } from './stripe-method.js';
import { TEST_CHARGE, testMethod } from './test-method.js';

/**
 * Every payment method the storefront can accept, in the order challenges offer them. A method
 * is one module (its facts, server method, recovery and refund); adding one is that module, its
 * line in both lists, and its configuration (payment-method.ts's settings and switches).
 *
 * The facts are listed apart because they load none of the methods' code: the functions that
 * only describe payments (health, discovery, validate) bundle no mppx server method.
 */
export const METHOD_FACTS: readonly MethodFacts[] = [STRIPE_CHARGE, TEST_CHARGE];

export const PAYMENT_METHODS: readonly PaymentMethod[] = [stripeMethod, testMethod];
