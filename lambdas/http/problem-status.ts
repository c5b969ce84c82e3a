import type { ProblemKind } from '../core/errors.js';

export const PROBLEM_STATUS: Record<ProblemKind, number> = {
  invalid_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  unpaid_create_disabled: 403,
  not_found: 404,
  conflict: 409,
  payment_in_progress: 409,
  too_many_live_leases: 429,
  unavailable: 503,
};
