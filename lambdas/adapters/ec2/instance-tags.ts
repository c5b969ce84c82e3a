/**
 * Tags on every instance the storefront launches. `managedBy` (the stack's name) scopes
 * the workflow's and the reconciler's EC2 permissions and lets the reconciler find every
 * storefront instance; `machineId` ties an instance back to its lease.
 */
export const INSTANCE_TAGS = {
  managedBy: 'storefront:managed-by',
  machineId: 'storefront:machine-id',
  product: 'storefront:product',
  leaseEndsAtLaunch: 'storefront:lease-ends-at-launch',
  /**
   * The lease's current end, kept up to date (activation, extensions) and read by the machine
   * through instance metadata, so its key may use only letters, digits and + - = . , _ : @.
   */
  leaseEndsAt: 'storefront:lease-ends-at',
} as const;
