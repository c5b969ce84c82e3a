import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { InstanceAddresses } from '../../core/ports.js';

/**
 * The public address EC2 gives an instance (DescribeInstances). Right after a launch EC2 may
 * not list the instance yet (eventual consistency): that reads as no address yet.
 */
export function ec2InstanceAddresses(ec2: Pick<EC2Client, 'send'>): InstanceAddresses {
  return {
    async publicAddress(instanceId) {
      try {
        const { Reservations = [] } = await ec2.send(
          new DescribeInstancesCommand({ InstanceIds: [instanceId] }),
        );
        const instance = Reservations[0]?.Instances?.[0];
        return instance?.State?.Name === 'running' ? instance.PublicIpAddress : undefined;
      } catch (error) {
        if ((error as { name?: string }).name === 'InvalidInstanceID.NotFound') return undefined;
        throw error;
      }
    },
  };
}
