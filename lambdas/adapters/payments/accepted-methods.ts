import * as z from 'zod';
import type { MethodFacts } from './payment-method.js';

/**
 * The methods a deployment accepts, as the stack tells every function that takes, refunds or
 * only describes payments (`PAYMENT_METHODS`, a JSON list of their facts, in the order
 * offered). The functions that only describe payments learn them here and load no method.
 */
export const acceptedMethodsSchema = z.array(
  z.object({
    key: z
      .string()
      .endsWith('/charge')
      .transform((key) => key as `${string}/charge`),
    name: z.string().min(1),
    minimumChargeCents: z.number().int().min(0),
  }),
);

/** The value of `PAYMENT_METHODS` for these methods. */
export const acceptedMethodsVariable = (methods: readonly MethodFacts[]): string =>
  JSON.stringify(
    methods.map(({ key, name, minimumChargeCents }) => ({ key, name, minimumChargeCents })),
  );

/**
 * The smallest amount some accepted method can take (the cheapest method's minimum). With no
 * method accepted nothing can be paid for, and orders are refused before any amount matters.
 */
export const minimumChargeCents = (methods: readonly MethodFacts[]) =>
  methods.length ? Math.min(...methods.map((method) => method.minimumChargeCents)) : 0;
