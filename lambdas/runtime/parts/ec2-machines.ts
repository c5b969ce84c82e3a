import { EC2Client } from '@aws-sdk/client-ec2';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { ec2CapacityCheck } from '../../adapters/ec2/ec2-capacity.js';
import {
  instanceTagLeaseDeadlines,
  unpublishedLeaseDeadlines,
} from '../../adapters/ec2/lease-deadline-tags.js';
import { serviceQuotaReader } from '../../adapters/ec2/service-quotas.js';
import {
  CAPACITY_CACHE_MS,
  cachedCapacityCheck,
  uncheckedCapacity,
} from '../../core/availability.js';
import type { MachinesPart } from '../storefront-parts.js';
import { tracedClient } from '../tracing.js';

/**
 * What an API function asks of EC2 itself: whether a product can be launched now (before
 * any challenge), and moving a machine's lease-end tag after an extension. Only the
 * operations granted `ec2` access bundle the EC2 client.
 */
export const ec2Machines: MachinesPart = ({ access, zones, clients, clock, log }) => {
  const ec2 = clients.ec2 ?? tracedClient(new EC2Client({}));
  return {
    capacity:
      access.includes('capacity') && zones.length
        ? cachedCapacityCheck(
            ec2CapacityCheck({
              ec2,
              zones,
              quotas: serviceQuotaReader(
                clients.serviceQuotas ?? tracedClient(new ServiceQuotasClient({})),
              ),
              clock,
            }),
            { ttlMs: CAPACITY_CACHE_MS, clock },
          )
        : uncheckedCapacity,
    deadlines: access.includes('leaseDeadlines')
      ? instanceTagLeaseDeadlines(ec2, log)
      : unpublishedLeaseDeadlines,
  };
};
