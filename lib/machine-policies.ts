import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { INSTANCE_TAGS } from '../lambdas/adapters/ec2/instance-tags.js';
import { ec2WildcardArn } from './arns.js';

/**
 * Lets a function move a storefront machine's lease-end tag, and nothing else: only on
 * instances tagged as this stack's, and only that one tag key.
 */
export function leaseDeadlineTagging(scope: Construct, managedBy: string): PolicyStatement {
  return new PolicyStatement({
    actions: ['ec2:CreateTags'],
    resources: [ec2WildcardArn(scope, 'instances')],
    conditions: {
      StringEquals: { [`aws:ResourceTag/${INSTANCE_TAGS.managedBy}`]: managedBy },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [INSTANCE_TAGS.leaseEndsAt] },
    },
  });
}

/**
 * What the availability check before payment reads. EC2 Describe* actions have no
 * resource-level permissions, so '*' is the only scope AWS offers; Service Quotas'
 * GetServiceQuota is likewise granted on '*' (its quotas are addressed by service and code).
 */
export function capacityChecking(): PolicyStatement {
  return new PolicyStatement({
    actions: [
      'ec2:DescribeInstanceTypeOfferings',
      'ec2:DescribeInstanceTypes',
      'ec2:DescribeInstances',
      'ec2:DescribeCapacityReservations',
      'servicequotas:GetServiceQuota',
    ],
    resources: ['*'],
  });
}
