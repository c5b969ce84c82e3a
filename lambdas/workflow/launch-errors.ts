import { WORKFLOW_ERRORS, WorkflowError } from './workflow-errors.js';

const CAPACITY_CODES = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientCapacityOnOutpost',
  // The instance type is not offered in this subnet's zone: another zone may have it.
  'Unsupported',
]);

const TRANSIENT_CODES = new Set([
  'RequestLimitExceeded',
  'ThrottlingException',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
]);

export type LaunchErrorKind = 'capacity' | 'transient' | 'rejected';

const codeOf = (error: unknown) =>
  (error as { Code?: string; name?: string })?.Code ??
  (error as { name?: string })?.name ??
  'Unknown';

/**
 * RunInstances refused a repeat of a client token because a parameter changed since the
 * attempt that used it (the user data's readiness secret is drawn anew on every attempt):
 * that earlier attempt launched the instance.
 */
export const launchedByAnEarlierAttempt = (error: unknown) =>
  codeOf(error) === 'IdempotentParameterMismatch';

export function classifyLaunchError(error: unknown): LaunchErrorKind {
  const code = codeOf(error);
  if (CAPACITY_CODES.has(code)) return 'capacity';
  if (TRANSIENT_CODES.has(code)) return 'transient';
  return 'rejected';
}

/** The error the workflow sees, with a message an agent can read as failure_reason. */
export function launchFailure(
  error: unknown,
  product: { id: string; instanceType: string },
): WorkflowError {
  const code = codeOf(error);
  switch (classifyLaunchError(error)) {
    case 'capacity':
      return new WorkflowError(
        WORKFLOW_ERRORS.capacityUnavailable,
        `no ${product.instanceType} capacity is available for ${product.id} right now; try again later`,
      );
    case 'transient':
      return new WorkflowError(
        WORKFLOW_ERRORS.launchThrottled,
        `EC2 is busy (${code}); the launch is retried`,
      );
    default:
      if (code === 'VcpuLimitExceeded' || code === 'InstanceLimitExceeded') {
        return new WorkflowError(
          WORKFLOW_ERRORS.launchRejected,
          `the storefront has reached its EC2 quota for ${product.instanceType}; try again later`,
        );
      }
      return new WorkflowError(
        WORKFLOW_ERRORS.launchRejected,
        `the machine could not be launched (${code}); the operator has been alerted`,
      );
  }
}
