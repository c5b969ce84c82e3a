import {
  GetIPSetCommand,
  type Scope,
  UpdateIPSetCommand,
  type WAFV2Client,
} from '@aws-sdk/client-wafv2';
import {
  type ClientRangeFirewall,
  IP_FAMILIES,
  type IpFamily,
  sameRanges,
} from '../../core/client-range-firewall.js';

/** Where an IP set is, from its ARN: `arn:<partition>:wafv2:<region>:<account>:global|regional/ipset/<name>/<id>`. */
export function ipSetOfArn(arn: string): { Name: string; Id: string; Scope: Scope } {
  const match =
    /^arn:[\w-]+:wafv2:[\w-]+:\d{12}:(global|regional)\/ipset\/([\w-]+)\/([\w-]+)$/.exec(arn);
  if (!match) throw new Error(`${arn} is not the ARN of a WAF IP set`);
  const [, scope, name = '', id = ''] = match;
  return { Name: name, Id: id, Scope: scope === 'global' ? 'CLOUDFRONT' : 'REGIONAL' };
}

/** Tries after a concurrent change before giving up (the next scheduled run tries again). */
export const LOCK_ATTEMPTS = 5;

const isOptimisticLock = (error: unknown) =>
  (error as { name?: string }).name === 'WAFOptimisticLockException';

/**
 * The front door's IP sets through the WAF API. UpdateIPSet "completely replaces the mutable
 * specifications that you already have for the IP set with the ones that you provide to this
 * call. To modify an IP set, do the following: Retrieve it by calling GetIPSet; Update its
 * settings as needed; Provide the complete IP set specification to this call" (WAFV2 API
 * reference, UpdateIPSet), with the LockToken GetIPSet returned: a set changed in between is
 * refused with WAFOptimisticLockException, and read again. The description is a mutable
 * specification too, so it is sent back as read. For a CLOUDFRONT-scope set the client must
 * be in us-east-1 ("For all calls, use the Region endpoint us-east-1").
 */
export class WafIpSets implements ClientRangeFirewall {
  constructor(
    private readonly client: Pick<WAFV2Client, 'send'>,
    private readonly arns: Readonly<Record<IpFamily, string>>,
  ) {
    for (const family of IP_FAMILIES) ipSetOfArn(arns[family]);
  }

  async replace(family: IpFamily, ranges: readonly string[]): Promise<'updated' | 'unchanged'> {
    const where = ipSetOfArn(this.arns[family]);
    for (let attempt = 1; ; attempt++) {
      const { IPSet, LockToken } = await this.client.send(new GetIPSetCommand(where));
      if (sameRanges(IPSet?.Addresses ?? [], ranges)) return 'unchanged';
      try {
        await this.client.send(
          new UpdateIPSetCommand({
            ...where,
            Addresses: [...ranges],
            LockToken,
            ...(IPSet?.Description ? { Description: IPSet.Description } : {}),
          }),
        );
        return 'updated';
      } catch (error) {
        if (!isOptimisticLock(error) || attempt >= LOCK_ATTEMPTS) throw error;
      }
    }
  }
}
