import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import type { CommandSender } from '../runtime/runtime-clients.js';
import type { SimulatedEc2 } from './simulated-ec2.js';

/** Service Quotas as the simulated account has them: GetServiceQuota for EC2's vCPU quotas. */
export function localServiceQuotas(ec2: SimulatedEc2): CommandSender {
  return {
    async send(command: unknown) {
      if (!(command instanceof GetServiceQuotaCommand))
        throw new Error('the local Service Quotas answers GetServiceQuota only');
      const quotaCode = command.input.QuotaCode ?? '';
      return {
        Quota: {
          ServiceCode: 'ec2',
          QuotaCode: quotaCode,
          Value: await ec2.serviceQuota(quotaCode),
        },
      };
    },
  };
}
