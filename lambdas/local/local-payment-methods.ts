import { CONTEXT_PREFIX } from '../../lib/config.js';
import { PAYMENT_METHODS } from '../adapters/payments/payment-methods.js';

/**
 * The payment methods in the local storefront, derived from their declarations: `npm start`'s
 * own values for their keys (the test method is on), and their secrets' values served by
 * the local Secrets Manager under the ARNs the synthesised template gives the functions.
 */

/** Each method's local defaults, as `-c storefront:<key>=…` would set them. */
export const localPaymentDefaults = (): Record<string, unknown> =>
  Object.fromEntries(
    PAYMENT_METHODS.flatMap((method) =>
      Object.entries(method.localDefaults ?? {}).map(([key, value]) => [
        `${CONTEXT_PREFIX}${key}`,
        value,
      ]),
    ),
  );

/** The methods' keys given as options (without the prefix), as context. */
export const prefixedPaymentContext = (keys: Readonly<Record<string, unknown>>) =>
  Object.fromEntries(
    Object.entries(keys).map(([key, value]) => [`${CONTEXT_PREFIX}${key}`, value]),
  );

/**
 * The value of each method secret a function's environment points at: the context names the
 * secret (its `nameKey`), the options hold the value under that name.
 */
export function localPaymentSecrets(
  environments: readonly Readonly<Record<string, string | undefined>>[],
  context: Readonly<Record<string, unknown>>,
  valuesByName: Readonly<Record<string, string>>,
): Map<string, string> {
  const secrets = new Map<string, string>();
  for (const env of environments) {
    for (const method of PAYMENT_METHODS) {
      for (const secret of Object.values(method.secrets)) {
        const arn = env[secret.arnVariable];
        const name = context[`${CONTEXT_PREFIX}${secret.nameKey}`];
        const value = typeof name === 'string' ? valuesByName[name] : undefined;
        if (arn && value) secrets.set(arn, value);
      }
    }
  }
  return secrets;
}
