import { SMTP_PORTS, tcpRangesExcept } from '../../lib/compute.js';
import { resourcesOf, storefrontStack } from '../support/stack.js';

type Rule = {
  IpProtocol: string;
  FromPort?: number;
  ToPort?: number;
  CidrIp?: string;
  CidrIpv6?: string;
};

const machineGroups = (template: ReturnType<typeof storefrontStack>['template']) =>
  Object.entries(resourcesOf(template, 'AWS::EC2::SecurityGroup')).filter(([, group]) =>
    String(group.Properties?.GroupDescription).startsWith('Leased machines'),
  );

/** Whether the rules let TCP out to this port (IPv4 or IPv6). */
const tcpOut = (rules: Rule[], port: number, family: 'CidrIp' | 'CidrIpv6') =>
  rules.some(
    (rule) =>
      rule[family] !== undefined &&
      (rule.IpProtocol === '-1' ||
        (rule.IpProtocol === 'tcp' && (rule.FromPort ?? 0) <= port && port <= (rule.ToPort ?? 0))),
  );

describe("leased machines' network", () => {
  it('covers every TCP port but the closed ones', () => {
    expect(tcpRangesExcept(SMTP_PORTS)).toEqual([
      [0, 24],
      [26, 464],
      [466, 586],
      [588, 65_535],
    ]);
  });

  it('lets SSH in and anything out but SMTP (25, 465, 587), on IPv4 and IPv6, by default', () => {
    const { template } = storefrontStack();
    const groups = machineGroups(template);
    expect(groups).toHaveLength(1);
    const properties = groups[0]?.[1].Properties ?? {};
    const ingress = properties.SecurityGroupIngress as Rule[];
    expect(ingress.map((rule) => [rule.IpProtocol, rule.FromPort, rule.ToPort])).toEqual([
      ['tcp', 22, 22],
      ['tcp', 22, 22],
    ]);
    const egress = properties.SecurityGroupEgress as Rule[];
    for (const family of ['CidrIp', 'CidrIpv6'] as const) {
      for (const port of SMTP_PORTS) expect(tcpOut(egress, port, family)).toBe(false);
      for (const port of [22, 53, 80, 443, 24, 26, 586, 588, 65_535])
        expect(tcpOut(egress, port, family)).toBe(true);
      expect(egress.some((rule) => rule[family] && rule.IpProtocol === 'udp')).toBe(true);
    }
    expect(egress.some((rule) => rule.IpProtocol === 'icmp')).toBe(true);
    expect(egress.some((rule) => ['58', 'icmpv6'].includes(rule.IpProtocol))).toBe(true);
  });

  it('opens SMTP for a product whose catalog entry allows it, and for that product only', () => {
    const { template } = storefrontStack({
      'storefront:products': { 'bare-linux-machine': { instance: { allowOutboundSmtp: true } } },
    });
    const groups = machineGroups(template);
    expect(groups).toHaveLength(2);
    const [open] = groups.filter(([, group]) =>
      String(group.Properties?.GroupDescription).includes('outbound SMTP allowed'),
    );
    const [closed] = groups.filter(([, group]) =>
      String(group.Properties?.GroupDescription).includes('except SMTP'),
    );
    const openEgress = open?.[1].Properties?.SecurityGroupEgress as Rule[];
    expect(tcpOut(openEgress, 25, 'CidrIp')).toBe(true);
    expect(tcpOut(openEgress, 587, 'CidrIpv6')).toBe(true);
    const templates = Object.values(resourcesOf(template, 'AWS::EC2::LaunchTemplate'));
    const groupOf = (product: string) => {
      const found = templates.find((candidate) =>
        String(candidate.Properties?.LaunchTemplateName).endsWith(product),
      );
      return JSON.stringify(found?.Properties?.LaunchTemplateData);
    };
    expect(groupOf('bare-linux-machine')).toContain(open?.[0]);
    expect(groupOf('gpu-h100-machine')).toContain(closed?.[0]);
  });
});
