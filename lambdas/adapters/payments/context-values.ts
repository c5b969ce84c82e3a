import * as z from 'zod';

/**
 * Building blocks of the `storefront:` context keys (lib/config.ts and each payment method's
 * own keys). Values given on the command line (`-c key=value`) arrive as strings, so
 * booleans and lists are parsed from strings as well as taken as JSON values (cdk.json).
 */
export const contextFlag = z.union([
  z.boolean(),
  z.enum(['true', 'false']).transform((value) => value === 'true'),
]);

/** A list, given as a JSON array (cdk.json) or a comma list (`-c key=a,b`). */
export const contextList = z.union([
  z.array(z.string()),
  z.string().transform((text) => text.split(',').map((item) => item.trim())),
]);
