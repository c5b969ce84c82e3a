import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { KEY_PREFIX, TABLE_DESIGN } from '../lambdas/adapters/dynamodb/table-design.js';
import { INSTANCE_TAGS } from '../lambdas/adapters/ec2/instance-tags.js';
import type { Catalog } from '../lambdas/core/products.js';
import { type Ec2Wildcard, ec2WildcardArn, publicImagesArn, stackArn } from './arns.js';
import type { Compute } from './compute.js';
import { leaseDeadlineTagging } from './machine-policies.js';
import type { PaymentMethodWiring } from './payment-method-wiring.js';

export interface LeaseWorkflowGrants {
  table: ITable;
  payments: PaymentMethodWiring;
  compute: Compute;
  catalog: Catalog;
  /** Instances carry this tag value; only they may be terminated. */
  managedBy: string;
  functions: Record<
    'launch' | 'inspect' | 'records' | 'refund' | 'reconcile' | 'cleanup',
    IFunction
  >;
}

/**
 * What each part of the lease workflow may do, and nothing more: machine items only,
 * instances this stack launched only, the payment methods' secrets only where a refund is made.
 */
export function grantLeaseWorkflowPermissions(scope: Construct, grants: LeaseWorkflowGrants) {
  const arn = (service: string, resource: string, account?: string) =>
    stackArn(scope, service, resource, account);
  const wildcard = (kind: Ec2Wildcard) => ec2WildcardArn(scope, kind);
  const itemsUnder = (prefixes: string[], actions: string[]) =>
    new PolicyStatement({
      actions: actions.map((action) => `dynamodb:${action}`),
      resources: [grants.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes } },
    });
  const machineItems = (actions: string[]) => itemsUnder([`${KEY_PREFIX.machine}*`], actions);
  const managedInstances = new PolicyStatement({
    actions: ['ec2:TerminateInstances'],
    resources: [wildcard('instances')],
    conditions: {
      StringEquals: { [`ec2:ResourceTag/${INSTANCE_TAGS.managedBy}`]: grants.managedBy },
    },
  });
  // EC2 Describe* actions have no resource-level permissions: '*' is the only scope AWS offers.
  const describe = (...actions: string[]) => new PolicyStatement({ actions, resources: ['*'] });
  /** Refunding a failed lease reads and updates its order and extension items. */
  const refunds = (fn: IFunction) => {
    fn.addToRolePolicy(
      itemsUnder(
        [`${KEY_PREFIX.order}*`, `${KEY_PREFIX.machine}*`],
        ['GetItem', 'UpdateItem', 'Query'],
      ),
    );
    grants.payments.grant(fn, 'refund');
  };
  const { launch, inspect, records, refund, reconcile, cleanup } = grants.functions;

  launch.addToRolePolicy(machineItems(['GetItem', 'UpdateItem']));
  launch.addToRolePolicy(
    new PolicyStatement({
      actions: ['ec2:RunInstances'],
      resources: [wildcard('instances')],
      conditions: {
        StringEquals: { [`aws:RequestTag/${INSTANCE_TAGS.managedBy}`]: grants.managedBy },
      },
    }),
  );
  launch.addToRolePolicy(
    new PolicyStatement({
      actions: ['ec2:RunInstances'],
      resources: [
        wildcard('volumes'),
        wildcard('networkInterfaces'),
        wildcard('capacityReservations'),
        ...grants.compute.securityGroups.map((group) =>
          arn('ec2', `security-group/${group.securityGroupId}`),
        ),
        ...grants.compute.subnets.map((subnet) => arn('ec2', `subnet/${subnet.id}`)),
        ...Object.values(grants.compute.launchTemplates).map((template) =>
          arn('ec2', `launch-template/${template.launchTemplateId}`),
        ),
        publicImagesArn(scope),
      ],
    }),
  );
  launch.addToRolePolicy(
    new PolicyStatement({
      actions: ['ec2:CreateTags'],
      resources: [wildcard('instances'), wildcard('volumes')],
      conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
    }),
  );
  launch.addToRolePolicy(
    // The launch templates resolve their image from these public SSM parameters at launch.
    new PolicyStatement({
      actions: ['ssm:GetParameters'],
      resources: Object.values(grants.catalog).map((product) =>
        arn('ssm', `parameter${product.instance.imageParameter}`, ''),
      ),
    }),
  );
  // DescribeInstances finds the instance an earlier attempt launched (by its client token).
  launch.addToRolePolicy(describe('ec2:DescribeCapacityReservations', 'ec2:DescribeInstances'));
  launch.addToRolePolicy(managedInstances);

  inspect.addToRolePolicy(machineItems(['GetItem']));
  inspect.addToRolePolicy(describe('ec2:DescribeInstances'));

  records.addToRolePolicy(machineItems(['GetItem', 'UpdateItem']));
  records.addToRolePolicy(leaseDeadlineTagging(scope, grants.managedBy));
  // "End lease" terminates the lease's instance.
  records.addToRolePolicy(managedInstances);

  refunds(refund);

  reconcile.addToRolePolicy(machineItems(['GetItem', 'UpdateItem']));
  reconcile.addToRolePolicy(
    new PolicyStatement({
      actions: ['dynamodb:Query'],
      resources: [`${grants.table.tableArn}/index/${TABLE_DESIGN.liveLeasesIndex.name}`],
    }),
  );
  reconcile.addToRolePolicy(describe('ec2:DescribeInstances'));
  reconcile.addToRolePolicy(managedInstances);
  refunds(reconcile);

  cleanup.addToRolePolicy(machineItems(['GetItem', 'UpdateItem']));
  cleanup.addToRolePolicy(describe('ec2:DescribeInstances'));
  cleanup.addToRolePolicy(managedInstances);
  refunds(cleanup);
}
