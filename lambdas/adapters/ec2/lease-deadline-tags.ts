import { CreateTagsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { LeaseDeadlines, Logger } from '../../core/ports.js';
import { INSTANCE_TAGS } from './instance-tags.js';

/**
 * The lease end as an instance tag. The launch template allows tags in instance metadata
 * (`InstanceMetadataTags: enabled`), so the machine reads it without AWS credentials:
 * "If you add or remove an instance tag, the instance metadata is updated while the instance
 * is running, without needing to stop and then start the instance" (EC2 User Guide, "View
 * tags for your EC2 instances using instance metadata").
 */
export function instanceTagLeaseDeadlines(
  ec2: Pick<EC2Client, 'send'>,
  log: Logger,
): LeaseDeadlines {
  return {
    async publish(machine) {
      if (!machine.instance_id) return;
      try {
        await ec2.send(
          new CreateTagsCommand({
            Resources: [machine.instance_id],
            Tags: [{ Key: INSTANCE_TAGS.leaseEndsAt, Value: machine.expires_at }],
          }),
        );
      } catch (error) {
        log.warn('lease.deadline_not_published', {
          machine_id: machine.machine_id,
          instance_id: machine.instance_id,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
      }
    },
  };
}
