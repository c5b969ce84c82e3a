import { CfnOutput } from 'aws-cdk-lib';
import type { RestApiBase } from 'aws-cdk-lib/aws-apigateway';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HttpVersion,
  OriginRequestPolicy,
  PriceClass,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { RestApiOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { Construct } from 'constructs';
import { FORWARD_PUBLIC_HOST, RESTORE_PAYMENT_CHALLENGE } from './front-door-functions.js';

/**
 * The public entrance: a CloudFront distribution in front of the REST API that caches
 * nothing, passes every header, and restores the WWW-Authenticate payment challenge that
 * API Gateway renames. Agents use its URL (or the operator's domain on it).
 */
export class FrontDoor extends Construct {
  readonly distribution: Distribution;
  readonly url: string;

  constructor(
    scope: Construct,
    id: string,
    props: { api: RestApiBase; domainName?: string; certificateArn?: string; webAclArn?: string },
  ) {
    super(scope, id);
    const restoreChallenge = new EdgeFunction(this, 'RestorePaymentChallenge', {
      code: FunctionCode.fromInline(RESTORE_PAYMENT_CHALLENGE),
      runtime: FunctionRuntime.JS_2_0,
      comment: 'Restores WWW-Authenticate (MPP challenges) renamed by API Gateway',
    });
    const forwardHost = new EdgeFunction(this, 'ForwardPublicHost', {
      code: FunctionCode.fromInline(FORWARD_PUBLIC_HOST),
      runtime: FunctionRuntime.JS_2_0,
      comment: 'Passes the public host to the API as X-Forwarded-Host',
    });
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
      priceClass: PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: new RestApiOrigin(props.api),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_ALL,
        cachePolicy: CachePolicy.CACHING_DISABLED,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        functionAssociations: [
          { eventType: FunctionEventType.VIEWER_REQUEST, function: forwardHost },
          { eventType: FunctionEventType.VIEWER_RESPONSE, function: restoreChallenge },
        ],
      },
    });
    this.url = `https://${props.domainName ?? this.distribution.distributionDomainName}`;
    new CfnOutput(scope, 'ApiUrl', {
      value: this.url,
      description: 'The storefront API for agents (GET /api/health)',
    });
  }
}
