import type { CloudFrontResponse, CloudFrontResponseEvent } from 'aws-lambda';
import { handler as restorePaymentChallenge } from './restore-payment-challenge.js';

/** The CloudFront events a Lambda@Edge function can be associated with. */
export type EdgeEventType =
  | 'viewer-request'
  | 'origin-request'
  | 'origin-response'
  | 'viewer-response';

export interface ResponseEdgeFunction {
  /** Construct id in the stack. */
  name: string;
  eventType: Extract<EdgeEventType, 'origin-response' | 'viewer-response'>;
  /** Source file, relative to the project root; bundled by esbuild for Lambda@Edge. */
  entry: string;
  description: string;
  handler: (event: CloudFrontResponseEvent) => Promise<CloudFrontResponse>;
}

/**
 * The Lambda@Edge functions the front door deploys on the response path. The stack deploys
 * exactly these, and the local front door runs exactly these, on the same events.
 */
export const RESPONSE_EDGE_FUNCTIONS: readonly ResponseEdgeFunction[] = [
  {
    name: 'RestorePaymentChallenge',
    eventType: 'origin-response',
    entry: 'lambdas/edge/restore-payment-challenge.ts',
    description: 'Restores WWW-Authenticate (MPP challenges) that API Gateway renames',
    handler: restorePaymentChallenge,
  },
];
