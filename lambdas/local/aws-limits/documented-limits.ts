/**
 * AWS's documented limits, as the local storefront simulates them (`awsLimits` option of
 * `startLocalStorefront`, on in `npm run bench -- --scale N`, off by default).
 *
 * EC2 — "Request throttling for the Amazon EC2 API" (EC2 developer guide / API reference):
 *   "Amazon EC2 throttles EC2 API requests for each AWS account on a per-Region basis … If you
 *   exceed an API throttling limit, you get the RequestLimitExceeded error code." "Amazon EC2
 *   uses the token bucket algorithm." Request rate limiting: "the token bucket size for
 *   DescribeHosts, a non-mutating API action, is 100 tokens … the refill rate is 20 tokens per
 *   second." Resource rate limiting applies to "API actions … such as RunInstances and
 *   TerminateInstances": "the resource token bucket size for RunInstances is 1000 tokens, and
 *   the refill rate is two tokens per second", one token per instance. TerminateInstances'
 *   resource bucket is 1000 instances refilled at 20 a second (the same page's table).
 *   InsufficientInstanceCapacity is EC2's answer when a zone has no capacity for the type.
 *
 * Step Functions — "Step Functions service quotas", quotas related to API action throttling,
 *   Standard workflows: StartExecution bucket size 1,300, refill 300 per second in US East
 *   (N. Virginia), US West (Oregon) and Europe (Ireland); 800 and 150 in all other Regions.
 *   "These quotas are per account, per AWS Region." A throttled call gets ThrottlingException.
 *
 * DynamoDB — "Each partition on the table can serve up to 3,000 read request units or 1,000
 *   write request units, or a linear combination of both. If the traffic to a partition
 *   exceeds this limit, then the partition might be throttled" (on-demand tables included);
 *   "Amazon DynamoDB enforces specific throughput limits at the partition level for both table
 *   and global secondary index (GSI)", reported as KeyRangeThroughputExceeded in the throttling
 *   exception (ProvisionedThroughputExceededException / ThrottlingException).
 */
export interface BucketLimit {
  capacity: number;
  refillPerSecond: number;
}

/** The EC2 actions the storefront calls whose throttling is simulated. */
export const LIMITED_EC2_ACTIONS = [
  'RunInstances',
  'TerminateInstances',
  'DescribeInstances',
] as const;
export type LimitedEc2Action = (typeof LIMITED_EC2_ACTIONS)[number];

export interface SimulatedAwsLimits {
  /**
   * Attempts the local SDK clients make (default: the deployed clients' own, from
   * adapters/aws-retry.ts). The SDK's backoff runs in real time whatever the lease clock does,
   * so tests that exhaust retries lower it to stay fast.
   */
  sdkMaxAttempts?: number;
  ec2?: {
    /** Token buckets per action (refilled in real seconds); an action not named is unlimited. */
    buckets?: Partial<Record<LimitedEc2Action, BucketLimit>>;
    /** Share (0–1) of RunInstances calls answered InsufficientInstanceCapacity. */
    insufficientCapacityShare?: number;
  };
  stepFunctions?: { startExecution?: BucketLimit };
  dynamodb?: {
    /** Write request units one partition (table or GSI) serves per second. */
    writeUnitsPerPartitionPerSecond?: number;
    /** Read request units one partition serves per second. */
    readUnitsPerPartitionPerSecond?: number;
  };
}

export const AWS_DOCUMENTED_LIMITS = {
  ec2: {
    buckets: {
      RunInstances: { capacity: 1000, refillPerSecond: 2 },
      TerminateInstances: { capacity: 1000, refillPerSecond: 20 },
      DescribeInstances: { capacity: 100, refillPerSecond: 20 },
    },
  },
  stepFunctions: {
    /** The large Regions' StartExecution bucket; other Regions: 800 and 150 a second. */
    startExecution: { capacity: 1300, refillPerSecond: 300 },
  },
  dynamodb: { writeUnitsPerPartitionPerSecond: 1000, readUnitsPerPartitionPerSecond: 3000 },
} as const satisfies SimulatedAwsLimits;

/**
 * The documented limits for a run whose workflow runs `clockSpeedup` times faster than real
 * time: calls the API's load drives (launches, starts, table writes) keep AWS's per-second
 * rates, while calls the lease clock drives (provisioning and shutdown polls) come
 * `clockSpeedup` times as often, so their bucket refills that much faster too.
 */
export function documentedLimits(
  clockSpeedup = 1,
  insufficientCapacityShare = 0,
): SimulatedAwsLimits {
  const { buckets } = AWS_DOCUMENTED_LIMITS.ec2;
  return {
    ec2: {
      buckets: {
        ...buckets,
        DescribeInstances: {
          capacity: buckets.DescribeInstances.capacity,
          refillPerSecond: buckets.DescribeInstances.refillPerSecond * clockSpeedup,
        },
      },
      insufficientCapacityShare,
    },
    stepFunctions: { ...AWS_DOCUMENTED_LIMITS.stepFunctions },
    dynamodb: { ...AWS_DOCUMENTED_LIMITS.dynamodb },
  };
}

/** What the simulated limits refused, by service and reason (the bench prints it). */
export type ThrottleCounts = Record<string, number>;
