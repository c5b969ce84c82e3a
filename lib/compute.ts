import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  BlockDeviceVolume,
  type CfnSubnet,
  EbsDeviceVolumeType,
  FlowLogDestination,
  FlowLogTrafficType,
  InstanceInitiatedShutdownBehavior,
  InstanceType,
  type IVpc,
  LaunchTemplate,
  MachineImage,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type Catalog, PRODUCT_IDS, type ProductId } from '../lambdas/core/products.js';
import type { Subnet } from '../lambdas/workflow/launch-instance.js';

export interface ComputeProps {
  catalog: Catalog;
  /** An existing VPC (its public subnets are used); otherwise one is created. */
  vpcId?: string;
  logRetention: RetentionDays;
}

/**
 * With an environment (as `cdk deploy` synthesises) the CDK looks the region's zones up with
 * the deploying credentials and writes their names into the subnets, which cfn-lint warns
 * about (W3010, "avoid hardcoding availability zones"). Zone names are mapped per account and
 * these are that account's, so the warning is accepted on the subnets only, with cfn-lint's
 * resource-level configuration, and stays on for anything else.
 */
function acceptLookedUpZones(vpc: IVpc): void {
  for (const subnet of vpc.publicSubnets) {
    (subnet.node.defaultChild as CfnSubnet).addMetadata('cfn-lint', {
      config: { ignore_checks: ['W3010'] },
    });
  }
}

/**
 * Where leased machines run: public subnets across zones with no NAT gateways, one
 * security group that lets only SSH in, and one launch template per product (IMDSv2 with
 * tags readable in instance metadata, encrypted root volume, no instance profile, the OS's
 * shutdown terminates the instance).
 */
export class Compute extends Construct {
  readonly vpc: IVpc;
  readonly securityGroup: SecurityGroup;
  readonly launchTemplates: Record<ProductId, LaunchTemplate>;
  readonly subnets: Subnet[];

  constructor(scope: Construct, id: string, props: ComputeProps) {
    super(scope, id);
    this.vpc = props.vpcId
      ? Vpc.fromLookup(this, 'Vpc', { vpcId: props.vpcId })
      : new Vpc(this, 'Vpc', {
          maxAzs: 3,
          natGateways: 0,
          subnetConfiguration: [
            {
              name: 'machines',
              subnetType: SubnetType.PUBLIC,
              cidrMask: 20,
              mapPublicIpOnLaunch: true,
            },
          ],
          flowLogs: {
            rejected: {
              destination: FlowLogDestination.toCloudWatchLogs(
                new LogGroup(this, 'FlowLogs', {
                  retention: props.logRetention,
                  removalPolicy: RemovalPolicy.DESTROY,
                }),
              ),
              trafficType: FlowLogTrafficType.REJECT,
            },
          },
        });
    if (!props.vpcId) acceptLookedUpZones(this.vpc);
    this.subnets = this.vpc.publicSubnets.map((subnet) => ({
      id: subnet.subnetId,
      availabilityZone: subnet.availabilityZone,
    }));

    this.securityGroup = new SecurityGroup(this, 'MachineSsh', {
      vpc: this.vpc,
      description: 'Leased machines: SSH in from anywhere, anything out',
      allowAllOutbound: true,
    });
    this.securityGroup.addIngressRule(Peer.anyIpv4(), Port.tcp(22), 'agents log in over SSH');
    this.securityGroup.addIngressRule(
      Peer.anyIpv6(),
      Port.tcp(22),
      'agents log in over SSH (IPv6)',
    );

    const stackName = Stack.of(this).stackName;
    this.launchTemplates = Object.fromEntries(
      PRODUCT_IDS.map((productId) => {
        const { instance } = props.catalog[productId];
        const template = new LaunchTemplate(this, `${productId}-template`, {
          launchTemplateName: `${stackName}-${productId}`,
          // Resolved at each launch, so every lease gets the image's current patched release.
          machineImage: MachineImage.resolveSsmParameterAtLaunch(instance.imageParameter),
          instanceType: new InstanceType(instance.instanceType),
          securityGroup: this.securityGroup,
          requireImdsv2: true,
          httpPutResponseHopLimit: 1,
          // The machine reads its lease end from a tag (storefront:lease-ends-at) via IMDS.
          instanceMetadataTags: true,
          instanceInitiatedShutdownBehavior: InstanceInitiatedShutdownBehavior.TERMINATE,
          detailedMonitoring: false,
          blockDevices: [
            {
              deviceName: '/dev/sda1',
              volume: BlockDeviceVolume.ebs(instance.rootVolumeGiB, {
                encrypted: true,
                volumeType: EbsDeviceVolumeType.GP3,
                deleteOnTermination: true,
              }),
            },
          ],
        });
        return [productId, template];
      }),
    ) as Record<ProductId, LaunchTemplate>;
  }
}
