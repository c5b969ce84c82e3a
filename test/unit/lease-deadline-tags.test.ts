import { CreateTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { instanceTagLeaseDeadlines } from '../../lambdas/adapters/ec2/lease-deadline-tags.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';
import { machineFixture } from '../support/fixtures.js';

const machine = machineFixture({}, { instance_id: 'i-0123456789abcdef0' });

describe('the lease deadline as an instance tag', () => {
  const ec2 = mockClient(EC2Client);
  beforeEach(() => ec2.reset());

  it("moves the instance's lease-end tag to the lease's end", async () => {
    ec2.on(CreateTagsCommand).resolves({});
    const log = memoryLogger();
    await instanceTagLeaseDeadlines(new EC2Client({ region: 'us-east-1' }), log).publish(machine);
    expect(ec2.commandCalls(CreateTagsCommand).map((call) => call.args[0].input)).toEqual([
      {
        Resources: ['i-0123456789abcdef0'],
        Tags: [{ Key: 'storefront:lease-ends-at', Value: machine.expires_at }],
      },
    ]);
  });

  it('does nothing before an instance exists, and only logs when EC2 refuses', async () => {
    const log = memoryLogger();
    const deadlines = instanceTagLeaseDeadlines(new EC2Client({ region: 'us-east-1' }), log);
    await deadlines.publish({ ...machine, instance_id: undefined });
    expect(ec2.commandCalls(CreateTagsCommand)).toHaveLength(0);
    ec2
      .on(CreateTagsCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'UnauthorizedOperation' }));
    await expect(deadlines.publish(machine)).resolves.toBeUndefined();
    expect(log.entries).toEqual([
      expect.objectContaining({ level: 'warn', event: 'lease.deadline_not_published' }),
    ]);
  });
});
