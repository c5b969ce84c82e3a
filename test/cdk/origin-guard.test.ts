import {
  MISDIRECTED_STATUS,
  misdirectedError,
  ORIGIN_VERIFY_HEADER,
} from '../../lambdas/http/front-door-only.js';
import { resourcesOf, storefrontStack } from '../support/stack.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are read loosely
type Loose = Record<string, any>;

/** A CloudFormation string as text, each GetAtt/Ref written as <Resource.Attribute>. */
function text(value: unknown, logicalIdOf: (id: string) => string = (id) => id): string {
  if (typeof value === 'string') return value;
  const join = (value as Loose)['Fn::Join'];
  if (join) return (join[1] as unknown[]).map((part) => text(part, logicalIdOf)).join(join[0]);
  const getAtt = (value as Loose)['Fn::GetAtt'];
  if (getAtt) return `<${logicalIdOf(getAtt[0])}.${getAtt[1]}>`;
  const ref = (value as Loose).Ref;
  if (ref) return `<${logicalIdOf(ref)}>`;
  throw new Error(`unexpected ${JSON.stringify(value)}`);
}

function guardOf(overrides: Record<string, unknown> = {}) {
  const { template } = storefrontStack(overrides);
  const [secretId = ''] = Object.keys(resourcesOf(template, 'AWS::SecretsManager::Secret')).filter(
    (id) => id.startsWith('SecretsFrontDoorOriginSecret'),
  );
  const [distributionId = ''] = Object.keys(resourcesOf(template, 'AWS::CloudFront::Distribution'));
  const named = (id: string) =>
    id === secretId ? 'OriginSecret' : id === distributionId ? 'Distribution' : id;
  const [acl] = Object.values(resourcesOf(template, 'AWS::WAFv2::WebACL'));
  const [association] = Object.values(resourcesOf(template, 'AWS::WAFv2::WebACLAssociation'));
  const [distribution] = Object.values(resourcesOf(template, 'AWS::CloudFront::Distribution'));
  return {
    template,
    secretId,
    text: (value: unknown) => text(value, named),
    acl: acl?.Properties as Loose,
    association: association?.Properties as Loose,
    origins: (distribution?.Properties as Loose | undefined)?.DistributionConfig.Origins as Loose[],
  };
}

const SECRET_REFERENCE = '{{resolve:secretsmanager:<OriginSecret>:SecretString:::}}';

describe('the API answers its front door only', () => {
  const { template, secretId, text, acl, association, origins } = guardOf();
  const rule = (acl.Rules as Loose[])[0] as Loose;

  it('has CloudFront send the generated origin secret with every request, as a dynamic reference', () => {
    expect(origins).toHaveLength(1);
    const headers = origins[0]?.OriginCustomHeaders as Loose[];
    expect(headers.map((header) => header.HeaderName)).toEqual([ORIGIN_VERIFY_HEADER]);
    expect(text(headers[0]?.HeaderValue)).toBe(SECRET_REFERENCE);
    const secret = resourcesOf(template, 'AWS::SecretsManager::Secret')[secretId]?.Properties;
    expect(secret?.GenerateSecretString).toMatchObject({ ExcludePunctuation: true });
    expect(secret).not.toHaveProperty('SecretString');
  });

  it('puts a regional web ACL on the API stage that blocks requests without exactly that value', () => {
    expect(acl.Scope).toBe('REGIONAL');
    expect(acl.DefaultAction).toEqual({ Allow: {} });
    expect(acl.Rules).toHaveLength(1);
    const match = rule.Statement.NotStatement.Statement.ByteMatchStatement;
    expect(match).toMatchObject({
      FieldToMatch: { SingleHeader: { Name: ORIGIN_VERIFY_HEADER } },
      PositionalConstraint: 'EXACTLY',
      TextTransformations: [{ Priority: 0, Type: 'NONE' }],
    });
    expect(text(match.SearchString)).toBe(SECRET_REFERENCE);
    expect(text(association.ResourceArn)).toMatch(
      /^arn:<AWS::Partition>:apigateway:<AWS::Region>::\/restapis\/<Api[0-9A-F]+>\/stages\/<ApiDeploymentStage/,
    );
    expect(text(association.WebACLArn)).toMatch(/^<FrontDoorOriginGuardWebAcl[0-9A-F]+\.Arn>$/);
  });

  it('answers a blocked request with 421 and { error } naming the front door', () => {
    const block = rule.Action.Block.CustomResponse;
    expect(block.ResponseCode).toBe(MISDIRECTED_STATUS);
    const body = acl.CustomResponseBodies[block.CustomResponseBodyKey];
    expect(body.ContentType).toBe('APPLICATION_JSON');
    expect(JSON.parse(text(body.Content))).toEqual({
      error: misdirectedError('https://<Distribution.DomainName>'),
    });
  });

  it('keeps the secret out of WAF sampled requests, function environments and function roles', () => {
    expect(acl.VisibilityConfig.SampledRequestsEnabled).toBe(false);
    expect(rule.VisibilityConfig.SampledRequestsEnabled).toBe(false);
    const mentions = Object.entries(template.toJSON().Resources as Loose)
      .filter(([, resource]) => JSON.stringify(resource).includes(`"Ref":"${secretId}"`))
      .map(([, resource]) => resource.Type)
      .sort();
    expect(mentions).toEqual(['AWS::CloudFront::Distribution', 'AWS::WAFv2::WebACL']);
  });

  it("names the operator's domain when the front door has one", () => {
    const custom = guardOf({
      'storefront:domainName': 'compute.example.com',
      'storefront:certificateArn': 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
    });
    const body = Object.values(custom.acl.CustomResponseBodies as Loose)[0];
    expect(JSON.parse(text(body.Content))).toEqual({
      error: misdirectedError('https://compute.example.com'),
    });
  });
});
