import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { throttledResponse } from '../../lambdas/http/rate-limit-rules.js';
import { cdkJsonContext, readConfig } from '../../lib/config.js';
import type { UsEast1Stack } from '../../lib/us-east-1-stack.js';
import { WEB_ACL_REGION } from '../../lib/waf.js';
import { resourcesOf, storefrontStack } from '../support/stack.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are read loosely
type Loose = Record<string, any>;

function webAclOf(overrides: Record<string, unknown> = {}) {
  const built = storefrontStack(overrides);
  const aclStack = built.app.node.findChild('TestStorefront-us-east-1') as UsEast1Stack;
  const template = Template.fromStack(aclStack);
  const [acl] = Object.values(resourcesOf(template, 'AWS::WAFv2::WebACL'));
  return { ...built, aclStack, acl: acl?.Properties as Loose };
}

describe('per-client limits on the front door (AWS WAF)', () => {
  const { acl, aclStack, stack, template } = webAclOf();
  const rules = acl.Rules as Loose[];
  const ruleFor = (name: string) => rules.find((rule) => rule.Name === name);

  it('puts a CLOUDFRONT web ACL in the us-east-1 stack that the storefront deploys after', () => {
    expect(acl.Scope).toBe('CLOUDFRONT');
    expect(aclStack.region).toBe(WEB_ACL_REGION);
    expect(Stack.of(stack).dependencies).toContain(aclStack);
  });

  it("limits each source IP to cdk.json's writes and reads per minute, separately", () => {
    const limits = readConfig(cdkJsonContext());
    expect(ruleFor('writes-per-client')?.Statement.RateBasedStatement).toMatchObject({
      Limit: limits.rateLimitWritesPerMinute,
      EvaluationWindowSec: 60,
      AggregateKeyType: 'IP',
      ScopeDownStatement: { NotStatement: expect.any(Object) },
    });
    const reads = ruleFor('reads-per-client')?.Statement.RateBasedStatement;
    expect(reads).toMatchObject({ Limit: limits.rateLimitReadsPerMinute, AggregateKeyType: 'IP' });
    const methods = reads.ScopeDownStatement.OrStatement.Statements.map(
      (statement: Loose) => statement.ByteMatchStatement.SearchString,
    );
    expect(methods).toEqual(['GET', 'HEAD']);
  });

  it('answers a blocked request exactly as the local front door does: 429, Retry-After, { error }', () => {
    const limits = { writesPerMinute: 30, readsPerMinute: 120 };
    for (const budget of ['writes', 'reads'] as const) {
      const local = throttledResponse(limits, budget);
      const block = ruleFor(`${budget}-per-client`)?.Action.Block.CustomResponse;
      expect(block.ResponseCode).toBe(429);
      expect(block.ResponseHeaders).toContainEqual({ Name: 'retry-after', Value: '60' });
      expect(acl.CustomResponseBodies[block.CustomResponseBodyKey]).toEqual({
        ContentType: 'APPLICATION_JSON',
        Content: local.body,
      });
      expect(JSON.parse(local.body).error).toMatch(/too many requests/);
    }
  });

  it('attaches the web ACL to the CloudFront distribution', () => {
    const [distribution] = Object.values(resourcesOf(template, 'AWS::CloudFront::Distribution'));
    expect(JSON.stringify(distribution?.Properties)).toMatch(
      /"WebACLId":\{"Fn::GetAtt":\["WebAclArnReader/,
    );
  });

  it('reads the ACL ARN again whenever the ACL may be a new one, and only then', () => {
    // A custom resource runs again only when its properties change.
    const readerOf = (built: { template: Template }) => {
      const readers = Object.entries(resourcesOf(built.template, 'Custom::AWS')).filter(([id]) =>
        id.startsWith('WebAclArnReader'),
      );
      expect(readers).toHaveLength(1);
      return JSON.stringify(readers[0]?.[1].Properties);
    };
    const first = readerOf({ template });
    expect(readerOf(webAclOf())).toBe(first);
    expect(readerOf(webAclOf({ 'storefront:rateLimitReadsPerMinute': 600 }))).not.toBe(first);
  });

  it('takes other limits from context, and refuses ones WAF cannot enforce', () => {
    const raised = webAclOf({
      'storefront:rateLimitWritesPerMinute': '60',
      'storefront:rateLimitReadsPerMinute': 600,
    }).acl.Rules as Loose[];
    const rateBased = raised.filter((rule) => rule.Statement.RateBasedStatement);
    expect(rateBased.map((rule) => rule.Statement.RateBasedStatement.Limit)).toEqual([60, 600]);
    expect(() =>
      readConfig({ ...cdkJsonContext(), 'storefront:rateLimitReadsPerMinute': 5 }),
    ).toThrow(/storefront:rateLimitReadsPerMinute/);
  });
});
