import { Match } from 'aws-cdk-lib/assertions';
import { loadOpenApiDocument, operationsOf } from '../../lambdas/contract/openapi-document.js';
import { GATEWAY_RESPONSES } from '../../lib/api-gateway-document.js';
import { resourcesOf, storefrontStack } from '../support/stack.js';

const { template } = storefrontStack({ 'storefront:testPayments': true });
const [restApi] = Object.values(resourcesOf(template, 'AWS::ApiGateway::RestApi'));
const body = restApi?.Properties?.Body as {
  openapi: string;
  paths: Record<string, Record<string, Record<string, unknown>>>;
  'x-amazon-apigateway-gateway-responses': Record<
    string,
    { statusCode?: string; responseTemplates: Record<string, string> }
  >;
  'x-amazon-apigateway-request-validators': Record<string, unknown>;
};
const functions = resourcesOf(template, 'AWS::Lambda::Function');

/** The logical id of the function an integration URI (an Fn::Join) invokes. */
function invokedFunction(uri: unknown): string | undefined {
  return JSON.stringify(uri).match(/"Fn::GetAtt":\["(\w+)","Arn"\]/)?.[1];
}

describe('the REST API imported from openapi.json', () => {
  it("fails the deploy on an import warning, and is named after the stack (its metrics' ApiName)", () => {
    expect(restApi?.Properties).toMatchObject({ FailOnWarnings: true, Name: 'TestStorefront' });
  });

  it("keeps API Gateway's execution logs for storefront:logRetentionDays, created before the stage", () => {
    const [id, group] =
      Object.entries(resourcesOf(template, 'AWS::Logs::LogGroup')).find(([, each]) =>
        String(JSON.stringify(each.Properties?.LogGroupName)).includes(
          'API-Gateway-Execution-Logs_',
        ),
      ) ?? [];
    expect(group?.Properties).toMatchObject({
      LogGroupName: {
        'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: expect.any(String) }, '/v1']],
      },
      RetentionInDays: 90,
    });
    const [stage] = Object.values(resourcesOf(template, 'AWS::ApiGateway::Stage'));
    expect(stage?.DependsOn).toContain(id);
  });

  it('is an OpenAPI 3.0 document API Gateway can import', () => {
    expect(body.openapi).toBe('3.0.1');
  });

  it('routes every operation of openapi.json to its own function, over the Lambda proxy integration', () => {
    const operations = operationsOf(loadOpenApiDocument());
    expect(operations.length).toBeGreaterThanOrEqual(9);
    const targets = new Set<string>();
    for (const { operationId, method, path } of operations) {
      const integration = body.paths[path]?.[method]?.['x-amazon-apigateway-integration'] as Record<
        string,
        unknown
      >;
      expect(integration).toMatchObject({ type: 'aws_proxy', httpMethod: 'POST' });
      const target = invokedFunction(integration.uri);
      expect(target).toBeDefined();
      expect(functions[target ?? '']?.Properties?.Environment).toMatchObject({
        Variables: { OPERATION_ID: operationId },
      });
      targets.add(target ?? '');
    }
    expect(targets.size).toBe(operations.length);
  });

  it('lets API Gateway invoke each function only for its own route', () => {
    const permissions = Object.values(resourcesOf(template, 'AWS::Lambda::Permission')).filter(
      (permission) => permission.Properties?.Principal === 'apigateway.amazonaws.com',
    );
    // One per operation, and one more per GET for the HEAD declared beside it.
    const operations = operationsOf(loadOpenApiDocument());
    expect(permissions).toHaveLength(
      operations.length + operations.filter(({ method }) => method === 'get').length,
    );
    const sourceArns = permissions.map((permission) =>
      JSON.stringify(permission.Properties?.SourceArn),
    );
    expect(sourceArns.some((arn) => arn.includes('/POST/api/machines/*/extend'))).toBe(true);
    expect(sourceArns.some((arn) => arn.includes('/DELETE/api/machines/*'))).toBe(true);
    expect(sourceArns.some((arn) => arn.includes('/HEAD/api/health'))).toBe(true);
  });

  it('validates bodies at the gateway where they cost money or change state, not for validate', () => {
    expect(Object.keys(body['x-amazon-apigateway-request-validators'])).toEqual([
      'body-and-parameters',
      'parameters',
    ]);
    const validatorOf = (path: string, method: string) =>
      body.paths[path]?.[method]?.['x-amazon-apigateway-request-validator'];
    expect(validatorOf('/api/machine/mpp/orders', 'post')).toBe('body-and-parameters');
    expect(validatorOf('/api/machines/{machine_id}/extend', 'post')).toBe('body-and-parameters');
    expect(validatorOf('/api/machine/mpp/orders/validate', 'post')).toBe('parameters');
    expect(validatorOf('/api/machines/{machine_id}', 'get')).toBe('parameters');
  });

  it("rewrites API Gateway's own errors to { error } bodies that are valid JSON", () => {
    const responses = body['x-amazon-apigateway-gateway-responses'];
    expect(Object.keys(responses).sort()).toEqual(Object.keys(GATEWAY_RESPONSES).sort());
    expect(responses.MISSING_AUTHENTICATION_TOKEN?.statusCode).toBe('404');
    expect(responses.THROTTLED?.statusCode).toBe('429');
    for (const [type, response] of Object.entries(responses)) {
      // API Gateway substitutes $context.error.messageString with a quoted, escaped string.
      const rendered = (response.responseTemplates['application/json'] ?? '').replaceAll(
        '$context.error.messageString',
        JSON.stringify('Some "quoted" message'),
      );
      expect({ type, body: JSON.parse(rendered) }).toEqual({
        type,
        body: { error: expect.any(String) },
      });
    }
  });

  it('has stage throttling, access logs and tracing, and never logs bodies', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: {
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp('requestId'),
      },
      MethodSettings: [
        Match.objectLike({
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
          DataTraceEnabled: false,
          LoggingLevel: 'ERROR',
        }),
      ],
    });
  });

  it('puts a CloudFront front door before the API that restores the payment challenge header', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({
          ViewerProtocolPolicy: 'https-only',
          AllowedMethods: Match.arrayWith(['POST', 'DELETE']),
          LambdaFunctionAssociations: [Match.objectLike({ EventType: 'origin-response' })],
        }),
      }),
    });
    expect(JSON.stringify(template.toJSON().Outputs)).toContain('ApiUrl');
  });

  it('gives operators the API URL, the lease state machine, the table and the secret as outputs', () => {
    expect(Object.keys(template.toJSON().Outputs)).toEqual(
      expect.arrayContaining(['ApiUrl', 'StateMachineArn', 'TableName', 'StorefrontSecretArn']),
    );
  });
});
