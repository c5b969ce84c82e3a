/**
 * What EventBridge delivers for a Step Functions "Execution Status Change". AWS documents
 * the event (Step Functions developer guide, "EventBridge (CloudWatch Events) for Step
 * Functions execution status changes"): `"detail-type": "Step Functions Execution Status
 * Change"`, `"source": "aws.states"`, and "the detail section in the event data provides
 * the same information as the DescribeExecution API. The status field indicates the status
 * of the execution at the time the event was sent, one of RUNNING, SUCCEEDED, FAILED,
 * TIMED_OUT, or ABORTED". `detail.name` is the execution name: here, the machine id.
 */
export interface ExecutionStatusChange {
  'detail-type': 'Step Functions Execution Status Change';
  source: 'aws.states';
  detail: {
    executionArn: string;
    stateMachineArn: string;
    name: string;
    status: ExecutionStatus;
    error?: string | null;
    cause?: string | null;
  };
}

export type ExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE';

/** The statuses after which nothing in the workflow will end the lease any more. */
export const EXECUTION_ENDED_BADLY = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

const MACHINE_ID = /^machine_[0-9a-f]{16}$/;

/** The machine id of an execution that ended badly; undefined for any other event. */
export function leaseOfEvent(event: ExecutionStatusChange): string | undefined {
  const { name, status } = event.detail ?? {};
  if (!(EXECUTION_ENDED_BADLY as readonly string[]).includes(status)) return undefined;
  return typeof name === 'string' && MACHINE_ID.test(name) ? name : undefined;
}
