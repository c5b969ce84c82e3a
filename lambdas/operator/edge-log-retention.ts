import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { awsLogRetention, type LogRetentionPorts } from '../adapters/logs/log-retention.js';

/**
 * Lambda@Edge replicas log "in the AWS Regions where the functions are invoked", to
 * `/aws/lambda/us-east-1.<function name>` (CloudFront developer guide, "Edge function logs"),
 * in log groups Lambda creates on first use with no retention: they would be kept forever.
 * This custom resource creates that group in every region enabled for the account (an empty
 * group costs nothing) with the stack's retention, before the function first runs there, on
 * each deploy that changes the function or the retention. A region it may not write to (an
 * organization's policy denying it) is reported and skipped: it cannot fail the deploy.
 */
export interface EdgeLogRetentionProperties {
  LogGroupName: string;
  RetentionInDays: string;
}

export interface EdgeLogRetentionOutcome {
  regions: string[];
  skipped: Record<string, string>;
}

export async function keepEdgeLogs(
  ports: LogRetentionPorts,
  logGroupName: string,
  retentionInDays: number,
): Promise<EdgeLogRetentionOutcome> {
  const regions: string[] = [];
  const skipped: Record<string, string> = {};
  for (const region of await ports.enabledRegions()) {
    try {
      await ports.keepLogGroup(region, logGroupName, retentionInDays);
      regions.push(region);
    } catch (error) {
      skipped[region] = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  }
  return { regions, skipped };
}

type Send = (url: string, body: string) => Promise<void>;

/** CloudFormation waits for the answer at the event's pre-signed ResponseURL (an S3 PUT). */
const putResponse: Send = async (url, body) => {
  const response = await fetch(url, { method: 'PUT', body, headers: { 'content-type': '' } });
  if (!response.ok) throw new Error(`CloudFormation's response URL answered ${response.status}`);
};

/** The custom resource's handler, its AWS calls and its answer given (tests give their own). */
export function edgeLogRetentionHandler(ports: LogRetentionPorts, send: Send = putResponse) {
  return async (event: CloudFormationCustomResourceEvent): Promise<void> => {
    const properties = event.ResourceProperties as unknown as EdgeLogRetentionProperties;
    let answer: { Status: 'SUCCESS' | 'FAILED'; Reason?: string; Data?: Record<string, string> };
    try {
      if (event.RequestType === 'Delete') {
        // The groups stay, with their retention: their events expire by themselves.
        answer = { Status: 'SUCCESS' };
      } else {
        const outcome = await keepEdgeLogs(
          ports,
          properties.LogGroupName,
          Number(properties.RetentionInDays),
        );
        console.info(JSON.stringify({ message: 'edge log retention set', ...outcome }));
        answer = {
          Status: 'SUCCESS',
          Data: {
            Regions: outcome.regions.join(','),
            Skipped: Object.keys(outcome.skipped).join(','),
          },
        };
      }
    } catch (error) {
      console.error(error);
      answer = { Status: 'FAILED', Reason: String(error).slice(0, 500) };
    }
    await send(
      event.ResponseURL,
      JSON.stringify({
        ...answer,
        PhysicalResourceId: properties.LogGroupName,
        StackId: event.StackId,
        RequestId: event.RequestId,
        LogicalResourceId: event.LogicalResourceId,
      }),
    );
  };
}

export const handler = edgeLogRetentionHandler(
  awsLogRetention(process.env.AWS_REGION ?? 'us-east-1'),
);
