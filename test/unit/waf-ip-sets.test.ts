import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import {
  GetIPSetCommand,
  UpdateIPSetCommand,
  WAFOptimisticLockException,
  WAFV2Client,
} from '@aws-sdk/client-wafv2';
import { mockClient } from 'aws-sdk-client-mock';
import { readBlockedIpSets } from '../../lambdas/adapters/ssm/blocked-ip-sets-parameter.js';
import { ipSetOfArn, LOCK_ATTEMPTS, WafIpSets } from '../../lambdas/adapters/waf/waf-ip-sets.js';

const waf = mockClient(WAFV2Client);
const ssm = mockClient(SSMClient);

const ARNS = {
  ipv4: 'arn:aws:wafv2:us-east-1:123456789012:global/ipset/shop-blocked-clients-ipv4/aaaa-1111',
  ipv6: 'arn:aws:wafv2:us-east-1:123456789012:global/ipset/shop-blocked-clients-ipv6/bbbb-2222',
};
const V4 = { Name: 'shop-blocked-clients-ipv4', Id: 'aaaa-1111', Scope: 'CLOUDFRONT' };
const lockLost = () =>
  new WAFOptimisticLockException({ message: 'changed since you read it', $metadata: {} });
const held = (addresses: string[], lockToken: string) => ({
  IPSet: {
    ...V4,
    ARN: ARNS.ipv4,
    IPAddressVersion: 'IPV4' as const,
    Addresses: addresses,
    Description: 'Client ranges blocked by the operator',
  },
  LockToken: lockToken,
});

beforeEach(() => {
  waf.reset();
  ssm.reset();
});

describe('the front door IP sets through the WAF API', () => {
  it('finds the set by its ARN: name, id and the CLOUDFRONT scope of a global set', () => {
    expect(ipSetOfArn(ARNS.ipv4)).toEqual(V4);
    expect(ipSetOfArn('arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/other/cccc').Scope).toBe(
      'REGIONAL',
    );
    expect(() => ipSetOfArn('arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/y')).toThrow(
      /not the ARN of a WAF IP set/,
    );
  });

  it('replaces the whole list with the lock token it read, keeping the description', async () => {
    waf.on(GetIPSetCommand).resolves(held(['192.0.2.0/24'], 'token-1'));
    waf.on(UpdateIPSetCommand).resolves({ NextLockToken: 'token-2' });
    const outcome = await new WafIpSets(waf as unknown as WAFV2Client, ARNS).replace('ipv4', [
      '198.51.100.0/24',
    ]);
    expect(outcome).toBe('updated');
    expect(waf.commandCalls(GetIPSetCommand)[0]?.args[0].input).toEqual(V4);
    expect(waf.commandCalls(UpdateIPSetCommand)[0]?.args[0].input).toEqual({
      ...V4,
      Addresses: ['198.51.100.0/24'],
      LockToken: 'token-1',
      Description: 'Client ranges blocked by the operator',
    });
  });

  it('writes nothing when the set already holds those ranges', async () => {
    waf.on(GetIPSetCommand).resolves(held(['198.51.100.0/24', '10.0.0.0/8'], 'token-1'));
    const outcome = await new WafIpSets(waf as unknown as WAFV2Client, ARNS).replace('ipv4', [
      '10.0.0.0/8',
      '198.51.100.0/24',
    ]);
    expect(outcome).toBe('unchanged');
    expect(waf.commandCalls(UpdateIPSetCommand)).toHaveLength(0);
  });

  it('reads the set again with a fresh lock token when it changed in between', async () => {
    waf
      .on(GetIPSetCommand)
      .resolvesOnce(held([], 'token-1'))
      .resolvesOnce(held(['203.0.113.0/24'], 'token-2'));
    waf.on(UpdateIPSetCommand).rejectsOnce(lockLost()).resolves({ NextLockToken: 'token-3' });
    const outcome = await new WafIpSets(waf as unknown as WAFV2Client, ARNS).replace('ipv4', [
      '198.51.100.0/24',
    ]);
    expect(outcome).toBe('updated');
    const tokens = waf.commandCalls(UpdateIPSetCommand).map((call) => call.args[0].input.LockToken);
    expect(tokens).toEqual(['token-1', 'token-2']);
  });

  it(`gives up after ${LOCK_ATTEMPTS} lost locks (the next scheduled run tries again)`, async () => {
    waf.on(GetIPSetCommand).resolves(held([], 'token'));
    waf.on(UpdateIPSetCommand).rejects(lockLost());
    await expect(
      new WafIpSets(waf as unknown as WAFV2Client, ARNS).replace('ipv4', ['198.51.100.0/24']),
    ).rejects.toThrow(WAFOptimisticLockException);
    expect(waf.commandCalls(UpdateIPSetCommand)).toHaveLength(LOCK_ATTEMPTS);
  });

  it('passes any other error on at once', async () => {
    waf.on(GetIPSetCommand).resolves(held([], 'token'));
    waf.on(UpdateIPSetCommand).rejects(new Error('AccessDeniedException'));
    await expect(
      new WafIpSets(waf as unknown as WAFV2Client, ARNS).replace('ipv4', ['198.51.100.0/24']),
    ).rejects.toThrow('AccessDeniedException');
    expect(waf.commandCalls(UpdateIPSetCommand)).toHaveLength(1);
  });

  it("reads the sets' ARNs from the us-east-1 stack's parameter, refusing one that names none", async () => {
    ssm
      .on(GetParameterCommand, { Name: '/p' })
      .resolves({ Parameter: { Value: JSON.stringify(ARNS) } })
      .on(GetParameterCommand, { Name: '/broken' })
      .resolves({ Parameter: { Value: JSON.stringify({ ipv4: ARNS.ipv4 }) } });
    expect(await readBlockedIpSets(ssm as unknown as SSMClient, '/p')).toEqual(ARNS);
    await expect(readBlockedIpSets(ssm as unknown as SSMClient, '/broken')).rejects.toThrow(
      /names no ipv6 IP set/,
    );
  });
});
