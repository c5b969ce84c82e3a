import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiDefinition,
  EndpointType,
  LogGroupLogDestination,
  MethodLoggingLevel,
  SpecRestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { loadOpenApiDocument, operationsOf } from '../lambdas/contract/openapi-document.js';
import { apiGatewayDocument } from './api-gateway-document.js';

export interface StorefrontApiProps {
  functions: Record<string, NodejsFunction>;
  integrations: Record<string, { uri: string }>;
  stageName: string;
  throttleRateLimit: number;
  throttleBurstLimit: number;
  logRetention: RetentionDays;
}

/** The REST API, imported from openapi.json with one Lambda proxy integration per operation. */
export class StorefrontApi extends Construct {
  readonly api: SpecRestApi;

  constructor(scope: Construct, id: string, props: StorefrontApiProps) {
    super(scope, id);
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const contract = loadOpenApiDocument();
    this.api = new SpecRestApi(this, 'Api', {
      restApiName: 'agentic-compute-storefront',
      description: 'Agentic Compute Storefront: temporary machines leased and paid over MPP',
      apiDefinition: ApiDefinition.fromInline(apiGatewayDocument(contract, props.integrations)),
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: true,
      deployOptions: {
        stageName: props.stageName,
        throttlingRateLimit: props.throttleRateLimit,
        throttlingBurstLimit: props.throttleBurstLimit,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields({
          caller: false,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: false,
        }),
        // Errors only, and never request or response bodies: they carry tokens and credentials.
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
      },
    });
    for (const { operationId, method, path } of operationsOf(contract)) {
      const fn = props.functions[operationId];
      if (!fn) throw new Error(`no function for ${operationId}`);
      // A GET's function also answers the HEAD declared beside it (lib/api-gateway-document.ts).
      for (const verb of method === 'get' ? ['GET', 'HEAD'] : [method.toUpperCase()]) {
        fn.addPermission(verb === 'HEAD' ? 'InvokedByApiHead' : 'InvokedByApi', {
          principal: new ServicePrincipal('apigateway.amazonaws.com'),
          sourceArn: this.api.arnForExecuteApi(verb, path.replace(/\{[^}]+\}/g, '*'), '*'),
        });
      }
    }
  }
}
