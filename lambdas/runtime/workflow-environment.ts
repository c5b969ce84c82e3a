import * as z from 'zod';
import { acceptedMethodsSchema } from '../adapters/payments/accepted-methods.js';
import { PRODUCT_IDS } from '../core/products.js';
import { type EnvironmentOf, jsonText, wholeNumber } from './environment-values.js';

/**
 * The lease workflow functions' configuration, one schema per function, as the CDK stack
 * sets it (the constructs' environments are typed against these schemas, so a variable a
 * function needs and the stack omits fails `tsc` and `cdk synth`, not the first lease).
 */
export const workflowEnvironmentSchema = z.object({
  TABLE_NAME: z.string().min(1),
  PRODUCT_CATALOG: z.string().default('{}'),
  MANAGED_BY: z.string().min(1),
  RETENTION_DAYS: wholeNumber(1, 365),
  RECONCILE_GRACE_MINUTES: wholeNumber(1, 24 * 60),
});

/** Only the launch step launches: it alone is given launch templates and subnets. */
export const launchEnvironmentSchema = workflowEnvironmentSchema.extend({
  // zod 4: a record keyed by an enum requires every key; a stack may launch only some products.
  LAUNCH_TEMPLATES: jsonText(z.partialRecord(z.enum(PRODUCT_IDS), z.string().min(1))),
  SUBNETS: jsonText(
    z.array(z.object({ id: z.string().min(1), availabilityZone: z.string().min(1) })).min(1),
  ),
  /** The parameter holding the storefront's public URL: where machines report ready. */
  PUBLIC_URL_PARAMETER: z.string().min(1),
});

/**
 * The functions that refund (refund, cleanup, reconcile) are told the accepted methods; each
 * method's own variables and secret ARNs beside it are parsed by the method's declaration
 * (lambdas/adapters/payments/payment-methods-in-environment.ts).
 */
export const refundEnvironmentSchema = workflowEnvironmentSchema.extend({
  PAYMENT_METHODS: jsonText(acceptedMethodsSchema),
});

/** The capacity watcher checks the zones the machines' subnets are in (comma list). */
export const capacityWatchEnvironmentSchema = workflowEnvironmentSchema.extend({
  MACHINE_ZONES: z.string().regex(/^[^,\s]+(,[^,\s]+)*$/, 'a comma list of Availability Zones'),
});

export type WorkflowEnvironmentSchema =
  | typeof workflowEnvironmentSchema
  | typeof launchEnvironmentSchema
  | typeof refundEnvironmentSchema
  | typeof capacityWatchEnvironmentSchema;
export type WorkflowConfig = z.output<typeof workflowEnvironmentSchema>;
export type WorkflowFunctionEnvironment = EnvironmentOf<typeof workflowEnvironmentSchema>;
export type LaunchFunctionEnvironment = EnvironmentOf<typeof launchEnvironmentSchema>;
export type RefundFunctionEnvironment = EnvironmentOf<typeof refundEnvironmentSchema>;
export type CapacityWatchFunctionEnvironment = EnvironmentOf<typeof capacityWatchEnvironmentSchema>;
