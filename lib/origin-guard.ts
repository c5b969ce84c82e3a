import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import {
  MISDIRECTED_STATUS,
  misdirectedError,
  ORIGIN_VERIFY_HEADER,
} from '../lambdas/http/front-door-only.js';

const MISDIRECTED_BODY = 'misdirected';

/**
 * A regional AWS WAF web ACL on the API stage that lets through only requests carrying the
 * front door's origin header (lambdas/http/front-door-only.ts) and answers every other one
 * with 421 and `{ error }` naming the front door, before API Gateway routes it: no function
 * runs, nothing is charged or changed. "You can also create rules that match a specified
 * string ... in HTTP headers" (API Gateway developer guide, "Use AWS WAF to protect your REST
 * APIs in API Gateway").
 *
 * The header's value is a secretsmanager dynamic reference, resolved by CloudFormation: "neither
 * Secrets Manager nor CloudFormation logs or persists any resolved secret value. However, the
 * secret value may show up in the service whose resource it's being used in" (CloudFormation
 * user guide, "Get a secret or secret value from Secrets Manager"): here the web ACL's and the
 * distribution's configuration, readable only by the account's operators. Sampled requests,
 * which would show request headers in the WAF console, are off.
 */
export class OriginGuard extends Construct {
  readonly webAcl: CfnWebACL;

  constructor(
    scope: Construct,
    id: string,
    props: { stage: Stage; originHeaderValue: string; frontDoorUrl: string },
  ) {
    super(scope, id);
    const visibility = (metricName: string): CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: false,
      metricName,
    });
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      description: 'Agentic Compute Storefront: the API answers requests from its front door only',
      defaultAction: { allow: {} },
      rules: [
        {
          name: 'front-door-only',
          priority: 0,
          statement: {
            notStatement: {
              statement: {
                byteMatchStatement: {
                  fieldToMatch: { singleHeader: { Name: ORIGIN_VERIFY_HEADER } },
                  positionalConstraint: 'EXACTLY',
                  searchString: props.originHeaderValue,
                  textTransformations: [{ priority: 0, type: 'NONE' }],
                },
              },
            },
          },
          action: {
            block: {
              customResponse: {
                responseCode: MISDIRECTED_STATUS,
                customResponseBodyKey: MISDIRECTED_BODY,
                responseHeaders: [{ name: 'cache-control', value: 'no-store' }],
              },
            },
          },
          visibilityConfig: visibility('storefront-bypassed-front-door'),
        },
      ],
      customResponseBodies: {
        [MISDIRECTED_BODY]: {
          contentType: 'APPLICATION_JSON',
          content: JSON.stringify({ error: misdirectedError(props.frontDoorUrl) }),
        },
      },
      visibilityConfig: visibility('storefront-origin'),
    });
    new CfnWebACLAssociation(this, 'OnStage', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
