/**
 * Failures the API reports to its caller. Each kind maps to one HTTP status in the
 * http layer; the message is shown to the agent as `{ "error": message }`, so it must
 * say what is wrong without revealing anything secret.
 */
export type ProblemKind =
  | 'invalid_request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'unpaid_create_disabled'
  | 'payment_in_progress'
  | 'too_many_live_leases'
  | 'unavailable';

export class ApiProblem extends Error {
  constructor(
    readonly kind: ProblemKind,
    message: string,
    /** When asking again may succeed (sent as Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiProblem';
  }
}

export const invalidRequest = (message: string) => new ApiProblem('invalid_request', message);
export const unauthenticated = (message: string) => new ApiProblem('unauthenticated', message);
export const forbidden = (message: string) => new ApiProblem('forbidden', message);
export const notFound = (message: string) => new ApiProblem('not_found', message);
export const conflict = (message: string) => new ApiProblem('conflict', message);

/**
 * The workflow service refused to start a lease now (throttled past its client's retries):
 * nothing is wrong with the lease, and starting it again later (idempotent by machine id) works.
 */
export class LeaseStartThrottled extends Error {
  constructor(machineId: string, cause: string) {
    super(`the workflow of ${machineId} could not be started yet (${cause})`);
    this.name = 'LeaseStartThrottled';
  }
}
