/**
 * How many times each AWS client the storefront builds tries a call: the one place these are
 * set. Every client keeps the AWS SDK v3 "standard" retry strategy: it retries throttling
 * errors (RequestLimitExceeded, ThrottlingException, ProvisionedThroughputExceededException,
 * TooManyRequestsException and the other codes of its throttling list), transient errors
 * and 5xx answers, with exponential backoff and full jitter (a random wait between 0 and
 * min(base × 2^attempt, 20 s); the base is 1 s after a throttling error), and gives up after
 * `maxAttempts` or when its client-wide retry quota is spent. The SDK's default is 3 attempts.
 *
 * AWS advises exactly this for its throttles: EC2 "We recommend that you use exponential
 * backoff … RequestLimitExceeded" (EC2 API throttling, "Retries and exponential backoff");
 * DynamoDB "The AWS SDKs implement automatic retry logic and exponential backoff"; Step
 * Functions' StartExecution is a token bucket refilled every second. Five attempts wait at
 * most 1 + 2 + 4 + 8 = 15 s after throttling (7.5 s on average): within the 28 s API
 * functions and 60 s workflow steps, and bounded; what still fails is left to the state
 * machine's Retry blocks (launch) and the payment sweeper (a lease whose StartExecution
 * failed after payment), which are bounded too.
 */
export const SDK_MAX_ATTEMPTS = {
  /** A hot partition's throttle clears within the second; a few more tries ride it out. */
  dynamodb: 5,
  /** RunInstances' resource bucket refills 2 instances a second once its 1,000 are spent. */
  ec2: 5,
  /** StartExecution after payment: a lease that does not start costs the sweeper a round. */
  stepFunctions: 5,
  /** Secrets Manager and Service Quotas: read once per container, the SDK default. */
  other: 3,
} as const;

export type RetriedService = keyof typeof SDK_MAX_ATTEMPTS;

/** The client configuration that applies the service's attempts (merged into any other). */
export const retryConfig = (service: RetriedService) => ({
  retryMode: 'standard' as const,
  maxAttempts: SDK_MAX_ATTEMPTS[service],
});
