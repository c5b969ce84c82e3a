import * as z from 'zod';
import { acceptedMethodsSchema } from './accepted-methods.js';
import type { PaymentMethod } from './payment-method.js';
import { PAYMENT_METHODS } from './payment-methods.js';

/**
 * What a function that takes payments (`charge`: order, extension, sweeper) or only gives
 * money back (`refund`: the workflow's refund, cleanup and reconcile functions) needs of a
 * method: the stack set these variables from the method's declaration
 * (lib/payment-method-wiring.ts); each method's own schema parses them here.
 */
export type PaymentRole = 'charge' | 'refund';

/** One accepted method as this function's environment configures it. */
export interface MethodInEnvironment {
  method: PaymentMethod;
  /** Its variables, parsed by its own schema. */
  environment: Record<string, unknown>;
  /** The ARNs of the secrets it reads in this role, by secret id. */
  secretArns: Record<string, string>;
}

/** The secrets a method reads in a role: all where it charges, those marked for refunds else. */
export const secretsFor = (method: PaymentMethod, role: PaymentRole) =>
  Object.entries(method.secrets).filter(([, secret]) => role === 'charge' || secret.forRefunds);

const invalid = (detail: string) => new Error(`invalid function configuration: ${detail}`);

/** The methods `PAYMENT_METHODS` names, in the order offered, each with its settings. */
export function paymentMethodsInEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  role: PaymentRole,
  registry: readonly PaymentMethod[] = PAYMENT_METHODS,
): MethodInEnvironment[] {
  const listed = z
    .string()
    .transform((text) => JSON.parse(text) as unknown)
    .pipe(acceptedMethodsSchema)
    .safeParse(env.PAYMENT_METHODS);
  if (!listed.success) throw invalid('PAYMENT_METHODS: not a list of payment methods');
  return listed.data.map(({ name }) => {
    const method = registry.find((candidate) => candidate.facts.name === name);
    if (!method) throw invalid(`PAYMENT_METHODS: no payment method ${name} in this function`);
    const parsed = z.object(method.environment).safeParse(env);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw invalid(`${issue?.path.join('.')} (payment method ${name}): ${issue?.message}`);
    }
    const secretArns: Record<string, string> = {};
    for (const [id, secret] of secretsFor(method, role)) {
      const arn = env[secret.arnVariable];
      if (!arn) throw invalid(`${secret.arnVariable} (payment method ${name}): missing`);
      secretArns[id] = arn;
    }
    return { method, environment: parsed.data, secretArns };
  });
}

/** Every secret ARN the methods read, each once. */
export const methodSecretArns = (methods: readonly MethodInEnvironment[]): string[] => [
  ...new Set(methods.flatMap((entry) => Object.values(entry.secretArns))),
];

/** A method's secrets by id, their values looked up by ARN. */
export const methodSecretValues = (
  entry: MethodInEnvironment,
  secretValue: (arn: string) => string | undefined,
): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(entry.secretArns).map(([id, arn]) => [id, secretValue(arn)]));
