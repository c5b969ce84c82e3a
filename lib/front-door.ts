import { CfnOutput, Duration } from 'aws-cdk-lib';
import type { RestApiBase } from 'aws-cdk-lib/aws-apigateway';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AllowedMethods,
  CachePolicy,
  Function as CloudFrontFunction,
  Distribution,
  type EdgeLambda,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HttpVersion,
  LambdaEdgeEventType,
  OriginRequestPolicy,
  PriceClass,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { RestApiOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { RESPONSE_EDGE_FUNCTIONS } from '../lambdas/edge/edge-associations.js';
import { ORIGIN_VERIFY_HEADER } from '../lambdas/http/front-door-only.js';
import { edgeFunctionVersion } from './edge-functions.js';
import { VIEWER_REQUEST } from './front-door-functions.js';
import { OriginGuard } from './origin-guard.js';

const EDGE_EVENT_TYPES = {
  'origin-response': LambdaEdgeEventType.ORIGIN_RESPONSE,
  'viewer-response': LambdaEdgeEventType.VIEWER_RESPONSE,
} as const;

/**
 * The error codes whose answers CloudFront caches, to be passed through uncached. "CloudFront
 * always caches responses to GET and HEAD requests", errors included, and "caches error responses
 * for a default duration of 10 seconds" whatever the cache policy says (CloudFront developer
 * guide: "How CloudFront processes HTTP 4xx and 5xx status codes from your origin", "Control how
 * long CloudFront caches errors"): a 403 for a wrong token on `GET /api/machines/{id}` would be
 * served to the token's real holder, one passing 5xx to everyone. "You can specify the
 * error-caching duration—the Error Caching Minimum TTL—for each 4xx and 5xx status code that
 * CloudFront caches"; these are the codes it takes one for ("400, 403, 404, 405, 414, 416; 500,
 * 501, 502, 503, 504", "Create a custom error page for specific HTTP status codes"), less 416,
 * which "CloudFront doesn't cache". A TTL of 0 with no custom page passes the API's answer
 * through as it is. For other 4xx codes (401, 402, 409, 429…) it depends on "whether the origin
 * returns a Cache-Control max-age or Cache-Control s-maxage header", and the API's errors carry
 * neither (`cache-control: no-store`, lambdas/http/responses.ts).
 */
export const UNCACHED_ERROR_CODES = [400, 403, 404, 405, 414, 500, 501, 502, 503, 504] as const;

/**
 * The public entrance: a CloudFront distribution in front of the REST API that caches
 * nothing, passes every header, and restores the WWW-Authenticate payment challenge that
 * API Gateway renames, with a Lambda@Edge origin-response function (CloudFront skips
 * viewer-response functions on 400 and above, so they never see a 401 or 402). Agents use
 * its URL (or the operator's domain on it); the execute-api URL is not published.
 *
 * CloudFront takes Lambda@Edge functions from us-east-1 only, so they live in the
 * storefront's us-east-1 stack (lib/us-east-1-stack.ts, beside the web ACL) that `cdk deploy`
 * deploys first (lib/edge-functions.ts). Unlike
 * `cloudfront.experimental.EdgeFunction`, this needs no explicit region on the storefront
 * stack, which keeps it environment-agnostic and its ARNs partition-aware.
 */
export class FrontDoor extends Construct {
  readonly distribution: Distribution;
  readonly url: string;

  constructor(
    scope: Construct,
    id: string,
    props: {
      api: RestApiBase;
      /** Sent to the API with every request; the API stage refuses requests without it. */
      originSecret: ISecret;
      domainName?: string;
      certificateArn?: string;
      webAclArn?: string;
      /** For the edge function's own log group in us-east-1. */
      logRetention: RetentionDays;
    },
  ) {
    super(scope, id);
    const forwardHost = new CloudFrontFunction(this, 'ForwardPublicHost', {
      code: FunctionCode.fromInline(VIEWER_REQUEST),
      runtime: FunctionRuntime.JS_2_0,
      comment: 'Passes the public host to the API as X-Forwarded-Host',
    });
    const edgeLambdas = this.responseEdgeFunctions(props.logRetention);
    // A dynamic reference: CloudFormation resolves it, the template holds only the secret's ARN.
    const originHeaderValue = props.originSecret.secretValue.unsafeUnwrap();
    // With its own certificate the distribution enforces TLS 1.2; CloudFront's default one cannot.
    const custom =
      props.domainName && props.certificateArn
        ? {
            domainNames: [props.domainName],
            certificate: Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn),
            minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {};
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Agentic Compute Storefront API',
      ...custom,
      ...(props.webAclArn ? { webAclId: props.webAclArn } : {}),
      httpVersion: HttpVersion.HTTP2_AND_3,
      errorResponses: UNCACHED_ERROR_CODES.map((httpStatus) => ({
        httpStatus,
        ttl: Duration.seconds(0),
      })),
      priceClass: PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: new RestApiOrigin(props.api, {
          customHeaders: { [ORIGIN_VERIFY_HEADER]: originHeaderValue },
        }),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_ALL,
        cachePolicy: CachePolicy.CACHING_DISABLED,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        functionAssociations: [
          { eventType: FunctionEventType.VIEWER_REQUEST, function: forwardHost },
        ],
        edgeLambdas,
      },
    });
    // Agents get the front door only: the execute-api URL answers 421, naming the front door.
    props.api.node.tryRemoveChild('Endpoint');
    this.url = `https://${props.domainName ?? this.distribution.distributionDomainName}`;
    new OriginGuard(this, 'OriginGuard', {
      stage: props.api.deploymentStage,
      originHeaderValue,
      frontDoorUrl: this.url,
    });
    new CfnOutput(scope, 'ApiUrl', {
      value: this.url,
      description: 'The storefront API for agents (GET /api/health)',
    });
  }

  private responseEdgeFunctions(logRetention: RetentionDays): EdgeLambda[] {
    return RESPONSE_EDGE_FUNCTIONS.map((edge) => ({
      eventType: EDGE_EVENT_TYPES[edge.eventType],
      functionVersion: edgeFunctionVersion(this, edge, { logRetention }),
    }));
  }
}
