import type { MethodFacts, MethodSwitches } from './payment-method.js';
import { METHOD_FACTS } from './payment-methods.js';

/** The MPP methods a storefront accepts, in the order offered. */
export const acceptedMethods = (switches: MethodSwitches): MethodFacts[] =>
  METHOD_FACTS.filter((method) => method.accepted(switches));

/**
 * The smallest amount some accepted method can take (the cheapest method's minimum); with
 * no method yet configured, the strictest minimum of any method (the card minimum).
 */
export const minimumChargeCents = (methods: readonly MethodFacts[]) =>
  methods.length
    ? Math.min(...methods.map((method) => method.minimumChargeCents))
    : Math.max(...METHOD_FACTS.map((method) => method.minimumChargeCents));
