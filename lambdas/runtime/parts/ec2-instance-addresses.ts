import { ec2InstanceAddresses } from '../../adapters/ec2/instance-addresses.js';
import type { InstancesPart } from '../storefront-parts.js';
import { tracedClient } from '../tracing.js';
import { ec2Client } from './ec2-client.js';

/** Instance addresses from EC2 (the function's own client, or the runtime's local one). */
export const ec2Instances: InstancesPart = (clients) =>
  ec2InstanceAddresses(clients.ec2 ?? tracedClient(ec2Client()));
