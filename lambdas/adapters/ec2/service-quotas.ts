import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import type { VcpuQuotaReader } from './ec2-capacity.js';

interface QuotaSender {
  // biome-ignore lint/suspicious/noExplicitAny: an SDK client or a local stand-in
  send(command: GetServiceQuotaCommand): Promise<any>;
}

/**
 * The account's applied EC2 vCPU quota through Service Quotas (GetServiceQuota, service
 * code `ec2`). A quota that cannot be read is reported as unknown, never as zero: the
 * launch itself stays the authority, and a refused launch is refunded.
 */
export function serviceQuotaReader(client: QuotaSender): VcpuQuotaReader {
  return async (quotaCode) => {
    try {
      const answer = (await client.send(
        new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: quotaCode }),
      )) as { Quota?: { Value?: number } };
      return answer.Quota?.Value;
    } catch {
      return undefined;
    }
  };
}
