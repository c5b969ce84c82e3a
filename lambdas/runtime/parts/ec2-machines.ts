import { EC2Client } from '@aws-sdk/client-ec2';
import {
  instanceTagLeaseDeadlines,
  unpublishedLeaseDeadlines,
} from '../../adapters/ec2/lease-deadline-tags.js';
import type { MachinesPart } from '../storefront-parts.js';
import { tracedClient } from '../tracing.js';

/**
 * What an API function asks of EC2 itself: moving a machine's lease-end tag after an
 * extension. Availability before payment is read from the capacity watcher's snapshots
 * (table-stores.ts), so only the operations granted `ec2` access bundle the EC2 client.
 */
export const ec2Machines: MachinesPart = ({ access, clients, log }) => ({
  deadlines: access.includes('leaseDeadlines')
    ? instanceTagLeaseDeadlines(clients.ec2 ?? tracedClient(new EC2Client({})), log)
    : unpublishedLeaseDeadlines,
});
