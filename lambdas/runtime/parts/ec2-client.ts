import { EC2Client } from '@aws-sdk/client-ec2';
import { retryConfig } from '../../adapters/aws-retry.js';

/** Only the workflow steps that call EC2 bundle its client (the largest AWS SDK client here). */
export const ec2Client = () => new EC2Client({ ...retryConfig('ec2'), cacheMiddleware: true });
