/**
 * Errors the lease workflow's functions throw, by name. The state machine's Retry and
 * Catch rules match these names, so they are defined once and used on both sides.
 */
export const WORKFLOW_ERRORS = {
  /** EC2 has no capacity for the instance type right now (or no usable Capacity Block). */
  capacityUnavailable: 'CapacityUnavailable',
  /** A transient EC2 failure (throttling, internal error); worth retrying with backoff. */
  launchThrottled: 'LaunchThrottled',
  /** EC2 refused the launch for a reason retrying will not fix (quota, configuration). */
  launchRejected: 'LaunchRejected',
  /** The lease is no longer what the step expected (terminated early, say). */
  leaseNotActive: 'LeaseNotActive',
} as const;

export class WorkflowError extends Error {
  constructor(name: (typeof WORKFLOW_ERRORS)[keyof typeof WORKFLOW_ERRORS], message: string) {
    super(message);
    this.name = name;
  }
}
