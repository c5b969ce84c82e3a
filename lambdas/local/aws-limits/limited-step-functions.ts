import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { CommandSender } from '../../runtime/runtime-clients.js';
import type { BucketLimit, ThrottleCounts } from './documented-limits.js';
import { TokenBucket } from './token-bucket.js';

export interface LimitedStepFunctions extends CommandSender {
  readonly refused: ThrottleCounts;
}

/** A Step Functions service error as the SDK raises it (a client fault, HTTP 400). */
class StepFunctionsThrottled extends Error {
  readonly $fault = 'client';
  readonly $metadata = { httpStatusCode: 400 };
  constructor() {
    super('Rate exceeded');
    this.name = 'ThrottlingException';
  }
}

/**
 * The local Step Functions behind the StartExecution quota: a token bucket (per account and
 * Region on AWS; here per storefront, refilled in real seconds), ThrottlingException when empty.
 */
export function limitedStepFunctions(
  stepFunctions: CommandSender,
  startExecution: BucketLimit,
  realNow: () => number = Date.now,
): LimitedStepFunctions {
  const bucket = new TokenBucket(startExecution.capacity, startExecution.refillPerSecond, realNow);
  const refused: ThrottleCounts = {};
  return {
    refused,
    async send(command: object) {
      if (command instanceof StartExecutionCommand && !bucket.tryTake()) {
        refused['ThrottlingException:StartExecution'] =
          (refused['ThrottlingException:StartExecution'] ?? 0) + 1;
        throw new StepFunctionsThrottled();
      }
      return stepFunctions.send(command);
    },
  };
}
