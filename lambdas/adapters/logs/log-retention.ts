import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutRetentionPolicyCommand,
  ResourceAlreadyExistsException,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SDK_MAX_ATTEMPTS } from '../aws-retry.js';

/** Where a log group is kept, and for how long, in each region it may appear in. */
export interface LogRetentionPorts {
  /** The regions enabled for the account (opt-in regions only once opted in). */
  enabledRegions(): Promise<string[]>;
  /** Creates the group where it does not exist yet and sets its retention. */
  keepLogGroup(region: string, logGroupName: string, retentionInDays: number): Promise<void>;
}

/** The ports on AWS: EC2 DescribeRegions and CloudWatch Logs in each region. */
export function awsLogRetention(homeRegion: string): LogRetentionPorts {
  const maxAttempts = SDK_MAX_ATTEMPTS.other;
  return {
    async enabledRegions() {
      const ec2 = new EC2Client({ region: homeRegion, maxAttempts });
      const { Regions = [] } = await ec2.send(new DescribeRegionsCommand({ AllRegions: false }));
      return Regions.flatMap((region) => (region.RegionName ? [region.RegionName] : [])).sort();
    },
    async keepLogGroup(region, logGroupName, retentionInDays) {
      const logs = new CloudWatchLogsClient({ region, maxAttempts });
      try {
        await logs.send(new CreateLogGroupCommand({ logGroupName }));
      } catch (error) {
        if (!(error instanceof ResourceAlreadyExistsException)) throw error;
      }
      await logs.send(new PutRetentionPolicyCommand({ logGroupName, retentionInDays }));
    },
  };
}
