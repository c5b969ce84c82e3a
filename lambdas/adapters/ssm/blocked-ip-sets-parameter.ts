import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { IP_FAMILIES, type IpFamily } from '../../core/client-range-firewall.js';

/**
 * The ARNs of the front door's blocked-client IP sets, as the storefront's us-east-1 stack
 * publishes them (lib/waf.ts): one parameter there, `{"ipv4": <arn>, "ipv6": <arn>}`. The
 * client must be in us-east-1, where the parameter is.
 */
export async function readBlockedIpSets(
  client: Pick<SSMClient, 'send'>,
  parameterName: string,
): Promise<Record<IpFamily, string>> {
  const { Parameter } = await client.send(new GetParameterCommand({ Name: parameterName }));
  let value: Partial<Record<IpFamily, unknown>>;
  try {
    value = JSON.parse(Parameter?.Value ?? '') as Partial<Record<IpFamily, unknown>>;
  } catch {
    throw new Error(`${parameterName} does not hold the IP sets' ARNs as JSON`);
  }
  const arns = {} as Record<IpFamily, string>;
  for (const family of IP_FAMILIES) {
    const arn = value[family];
    if (typeof arn !== 'string' || !arn)
      throw new Error(`${parameterName} names no ${family} IP set`);
    arns[family] = arn;
  }
  return arns;
}
