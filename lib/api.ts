import { RemovalPolicy, Stack } from 'aws-cdk-lib';
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
      // API Gateway's metrics carry the API's name (dimension ApiName): one name per stack, so
      // two stages in one account and region do not share alarms and dashboards.
      restApiName: Stack.of(this).stackName,
      // An import that "encounters warnings" drops what it cannot use and goes on by default;
      // with failOnWarnings the deploy fails instead, naming what API Gateway refused.
      failOnWarnings: true,
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
    // "When you enable execution logging on a stage, API Gateway automatically creates and
    // manages a CloudWatch Logs log group ... named API-Gateway-Execution-Logs_{rest-api-id}/
    // {stage_name}" (API Gateway developer guide, "Execution logging for REST APIs"), kept
    // forever. Created here first, with the stack's retention, API Gateway writes into it.
    const executionLogs = new LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${props.stageName}`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api.deploymentStage.node.addDependency(executionLogs);
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
