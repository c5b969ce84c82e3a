import {
  AccessDeniedException,
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutRetentionPolicyCommand,
  ResourceAlreadyExistsException,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { jest } from '@jest/globals';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { awsLogRetention } from '../../lambdas/adapters/logs/log-retention.js';
import { edgeLogRetentionHandler } from '../../lambdas/operator/edge-log-retention.js';

const ec2 = mockClient(EC2Client);
const logs = mockClient(CloudWatchLogsClient);
const GROUP = '/aws/lambda/us-east-1.RestorePaymentChallenge-abc';

function event(type: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent {
  return {
    RequestType: type,
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:retention',
    ResponseURL: 'https://cloudformation-custom-resource-response.example/presigned',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/s/1',
    RequestId: 'request-1',
    LogicalResourceId: 'RestorePaymentChallengeReplicaLogs',
    ResourceType: 'Custom::EdgeReplicaLogRetention',
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:retention',
      LogGroupName: GROUP,
      RetentionInDays: '90',
    },
    ...(type === 'Create' ? {} : { PhysicalResourceId: GROUP, OldResourceProperties: {} }),
  } as CloudFormationCustomResourceEvent;
}

/** Runs the handler as Lambda would, returning what it answered CloudFormation. */
async function answerTo(type: 'Create' | 'Update' | 'Delete') {
  const sent: { url: string; body: Record<string, unknown> }[] = [];
  const handler = edgeLogRetentionHandler(awsLogRetention('us-east-1'), async (url, body) => {
    sent.push({ url, body: JSON.parse(body) });
  });
  await handler(event(type));
  expect(sent).toHaveLength(1);
  expect(sent[0]?.url).toBe(event(type).ResponseURL);
  return sent[0]?.body ?? {};
}

/** The regions the retention was set in. */
const retentionRegions = () =>
  Promise.all(
    logs.commandCalls(PutRetentionPolicyCommand).map((call) => call.thisValue.config.region()),
  ).then((regions) => regions.sort());

describe("the edge function's replica log retention (a custom resource)", () => {
  beforeEach(() => {
    ec2.reset();
    logs.reset();
    ec2.on(DescribeRegionsCommand, { AllRegions: false }).resolves({
      Regions: [
        { RegionName: 'us-east-1' },
        { RegionName: 'eu-west-1' },
        { RegionName: 'ap-northeast-1' },
      ],
    });
  });

  it("creates the replicas' log group with the stack's retention in every enabled region", async () => {
    logs.on(CreateLogGroupCommand).resolves({});
    logs.on(PutRetentionPolicyCommand).resolves({});
    const answer = await answerTo('Create');
    expect(answer).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: GROUP,
      RequestId: 'request-1',
      LogicalResourceId: 'RestorePaymentChallengeReplicaLogs',
      Data: { Regions: 'ap-northeast-1,eu-west-1,us-east-1', Skipped: '' },
    });
    expect(await retentionRegions()).toEqual(['ap-northeast-1', 'eu-west-1', 'us-east-1']);
    for (const call of logs.commandCalls(PutRetentionPolicyCommand)) {
      expect(call.args[0].input).toEqual({ logGroupName: GROUP, retentionInDays: 90 });
    }
  });

  it('sets the retention of a group Lambda@Edge already created', async () => {
    logs
      .on(CreateLogGroupCommand)
      .rejects(new ResourceAlreadyExistsException({ message: 'exists', $metadata: {} }));
    logs.on(PutRetentionPolicyCommand).resolves({});
    expect(await answerTo('Update')).toMatchObject({ Status: 'SUCCESS' });
    expect(logs.commandCalls(PutRetentionPolicyCommand)).toHaveLength(3);
  });

  it('skips and reports a region it may not write to, without failing the deploy', async () => {
    logs.on(CreateLogGroupCommand).resolves({});
    logs.on(PutRetentionPolicyCommand).resolves({});
    logs.on(CreateLogGroupCommand, { logGroupName: GROUP }).callsFake(async (_input, getClient) => {
      if ((await getClient().config.region()) === 'eu-west-1')
        throw new AccessDeniedException({ message: 'denied by an SCP', $metadata: {} });
      return {};
    });
    expect(await answerTo('Create')).toMatchObject({
      Status: 'SUCCESS',
      Data: { Regions: 'ap-northeast-1,us-east-1', Skipped: 'eu-west-1' },
    });
  });

  it('answers FAILED, with the reason, when the regions cannot be listed', async () => {
    ec2.on(DescribeRegionsCommand).rejects(new Error('UnauthorizedOperation'));
    // The handler logs the error (to its CloudWatch log group on AWS).
    const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const answer = await answerTo('Create');
    expect(logged).toHaveBeenCalled();
    logged.mockRestore();
    expect(answer).toMatchObject({ Status: 'FAILED', PhysicalResourceId: GROUP });
    expect(String(answer.Reason)).toMatch(/UnauthorizedOperation/);
  });

  it('leaves the groups on delete (their events expire by themselves)', async () => {
    expect(await answerTo('Delete')).toMatchObject({ Status: 'SUCCESS' });
    expect(ec2.calls()).toHaveLength(0);
    expect(logs.calls()).toHaveLength(0);
  });
});
