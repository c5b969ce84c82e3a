import {
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { CommandSender } from '../../runtime/runtime-clients.js';
import { SimulatedEc2Error } from '../simulated-ec2.js';
import type { LimitedEc2Action, SimulatedAwsLimits, ThrottleCounts } from './documented-limits.js';
import { TokenBucket } from './token-bucket.js';

export interface LimitedEc2 extends CommandSender {
  /** Calls refused, by code (RequestLimitExceeded:<action>, InsufficientInstanceCapacity). */
  readonly refused: ThrottleCounts;
  /** When each instance was first accepted for termination (ms on the storefront's clock). */
  readonly terminationAcceptedAt: ReadonlyMap<string, number>;
}

const actionOf = (command: object): LimitedEc2Action | undefined =>
  command instanceof RunInstancesCommand
    ? 'RunInstances'
    : command instanceof TerminateInstancesCommand
      ? 'TerminateInstances'
      : command instanceof DescribeInstancesCommand
        ? 'DescribeInstances'
        : undefined;

/**
 * The simulated EC2 behind AWS's API throttling: a token bucket per action (refilled in real
 * seconds, as AWS refills per second whatever the lease clock does), RequestLimitExceeded
 * when one is empty, and InsufficientInstanceCapacity on a fixed share of launches. The share
 * is spread evenly (every 1/share-th launch), so a run is repeatable.
 */
export function limitedEc2(
  ec2: CommandSender & { launchFailures: string[] },
  limits: NonNullable<SimulatedAwsLimits['ec2']>,
  clockNow: () => number,
  realNow: () => number = Date.now,
): LimitedEc2 {
  const buckets = new Map(
    Object.entries(limits.buckets ?? {}).map(([action, limit]) => [
      action,
      new TokenBucket(limit.capacity, limit.refillPerSecond, realNow),
    ]),
  );
  const share = Math.min(1, Math.max(0, limits.insufficientCapacityShare ?? 0));
  let launches = 0;
  const refused: ThrottleCounts = {};
  const terminationAcceptedAt = new Map<string, number>();
  const refuse = (code: string) => {
    refused[code] = (refused[code] ?? 0) + 1;
  };
  return {
    refused,
    terminationAcceptedAt,
    async send(command: object) {
      const action = actionOf(command);
      if (action && buckets.get(action)?.tryTake() === false) {
        refuse(`RequestLimitExceeded:${action}`);
        throw new SimulatedEc2Error('RequestLimitExceeded', 'Request limit exceeded.');
      }
      let output: Promise<unknown>;
      if (command instanceof RunInstancesCommand && share > 0) {
        launches += 1;
        const unlucky = Math.floor(launches * share) > Math.floor((launches - 1) * share);
        // The simulated EC2's own switch, set and consumed within one synchronous call: a
        // launch whose client token already ran still returns its instance, as EC2 answers a
        // retried RunInstances, and then the failure is not left for another launch.
        const queued = ec2.launchFailures.length;
        if (unlucky) ec2.launchFailures.push('InsufficientInstanceCapacity');
        output = ec2.send(command);
        if (unlucky && ec2.launchFailures.length > queued) ec2.launchFailures.splice(queued, 1);
        else if (unlucky) refuse('InsufficientInstanceCapacity');
      } else {
        output = ec2.send(command);
      }
      const answer = await output;
      if (command instanceof TerminateInstancesCommand) {
        for (const id of command.input.InstanceIds ?? []) {
          if (!terminationAcceptedAt.has(id)) terminationAcceptedAt.set(id, clockNow());
        }
      }
      return answer;
    },
  };
}
