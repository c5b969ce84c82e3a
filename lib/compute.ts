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
  Protocol,
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
 * Outbound ports closed by default: mail relay and submission (25, 465, 587) are what spam
 * runs over, and what draws abuse reports against the account. A product opens them with
 * `instance.allowOutboundSmtp` in the catalog.
 */
export const SMTP_PORTS = [25, 465, 587] as const;

/** TCP port ranges covering every port except those given (a security group only allows). */
export function tcpRangesExcept(closed: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  let from = 0;
  for (const port of [...closed].sort((a, b) => a - b)) {
    if (port > from) ranges.push([from, port - 1]);
    from = port + 1;
  }
  if (from <= 65_535) ranges.push([from, 65_535]);
  return ranges;
}

/** SSH in from anywhere (IPv4 and IPv6); out, everything, or everything but SMTP. */
function machineSecurityGroup(scope: Construct, id: string, vpc: IVpc, smtp: boolean) {
  const group = new SecurityGroup(scope, id, {
    vpc,
    description: smtp
      ? 'Leased machines (outbound SMTP allowed): SSH in from anywhere, anything out'
      : 'Leased machines: SSH in from anywhere, anything out except SMTP (25, 465, 587)',
    allowAllOutbound: smtp,
    allowAllIpv6Outbound: smtp,
  });
  group.addIngressRule(Peer.anyIpv4(), Port.tcp(22), 'agents log in over SSH');
  group.addIngressRule(Peer.anyIpv6(), Port.tcp(22), 'agents log in over SSH (IPv6)');
  if (!smtp) {
    for (const peer of [Peer.anyIpv4(), Peer.anyIpv6()]) {
      for (const [from, to] of tcpRangesExcept(SMTP_PORTS))
        group.addEgressRule(peer, Port.tcpRange(from, to), `TCP out ${from}-${to} (not SMTP)`);
      group.addEgressRule(peer, Port.allUdp(), 'UDP out');
    }
    group.addEgressRule(Peer.anyIpv4(), Port.allIcmp(), 'ICMP out');
    // Without ports: CloudFormation ignores them for ICMPv6 (cfn-lint W3687).
    group.addEgressRule(
      Peer.anyIpv6(),
      new Port({ protocol: Protocol.ICMPV6, stringRepresentation: 'ALL ICMPv6' }),
      'ICMPv6 out',
    );
  }
  return group;
}

/**
 * Where leased machines run: public subnets across zones with no NAT gateways, one
 * security group that lets only SSH in (and, unless a product opens it, no SMTP out), and one launch template per product (IMDSv2 with
 * tags readable in instance metadata, encrypted root volume, no instance profile, the OS's
 * shutdown terminates the instance).
 */
export class Compute extends Construct {
  readonly vpc: IVpc;
  /** The machines' group: SSH in, anything out but SMTP. */
  readonly securityGroup: SecurityGroup;
  /** Each product's group (a product with `allowOutboundSmtp` gets one that lets SMTP out). */
  readonly securityGroupOf: Record<ProductId, SecurityGroup>;
  readonly securityGroups: SecurityGroup[];
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

    this.securityGroup = machineSecurityGroup(this, 'MachineSsh', this.vpc, false);
    const opensSmtp = PRODUCT_IDS.some((id) => props.catalog[id].instance.allowOutboundSmtp);
    const withSmtp = opensSmtp
      ? machineSecurityGroup(this, 'MachineSshWithSmtp', this.vpc, true)
      : undefined;
    this.securityGroupOf = Object.fromEntries(
      PRODUCT_IDS.map((id) => [
        id,
        props.catalog[id].instance.allowOutboundSmtp && withSmtp ? withSmtp : this.securityGroup,
      ]),
    ) as Record<ProductId, SecurityGroup>;
    this.securityGroups = [this.securityGroup, ...(withSmtp ? [withSmtp] : [])];

    const stackName = Stack.of(this).stackName;
    this.launchTemplates = Object.fromEntries(
      PRODUCT_IDS.map((productId) => {
        const { instance } = props.catalog[productId];
        const template = new LaunchTemplate(this, `${productId}-template`, {
          launchTemplateName: `${stackName}-${productId}`,
          // Resolved at each launch, so every lease gets the image's current patched release.
          machineImage: MachineImage.resolveSsmParameterAtLaunch(instance.imageParameter),
          instanceType: new InstanceType(instance.instanceType),
          securityGroup: this.securityGroupOf[productId],
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
