import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { tcpSshProbe } from '../../lambdas/adapters/ssh/tcp-ssh-probe.js';
import type { MachineRecord } from '../../lambdas/core/machine.js';
import { READY_BANNER_MARKER } from '../../lambdas/core/ready-banner.js';
import { createInspectInstance } from '../../lambdas/workflow/inspect-instance.js';
import { machineFixture } from '../support/fixtures.js';

const ec2 = mockClient(EC2Client);
const now = new Date('2026-11-29T10:05:00.000Z');

/** A real TCP server speaking the first line of SSH, as the leased machine's sshd would. */
async function sshServer(banner: string | null): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    if (banner !== null) socket.write(`${banner}\r\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

function inspector(machine: Partial<MachineRecord>, port = 22) {
  const record = machineFixture({}, { ssh_port: port, instance_id: 'i-1', ...machine });
  return createInspectInstance({
    ec2: new EC2Client({ region: 'us-east-1' }),
    machines: { get: async () => record },
    probe: tcpSshProbe(500),
    clock: { now: () => now },
  });
}

const running = (ip = '127.0.0.1') => ({
  Reservations: [
    {
      Instances: [{ InstanceId: 'i-1', State: { Name: 'running' as const }, PublicIpAddress: ip }],
    },
  ],
});

describe('Check instance (EC2 mocked, SSH over real TCP)', () => {
  const servers: Server[] = [];
  beforeEach(() => ec2.reset());
  afterAll(() => {
    for (const server of servers) server.close();
  });

  it('reports ready once the SSH banner carries the ready marker', async () => {
    const { port, server } = await sshServer(
      `SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13 ${READY_BANNER_MARKER}`,
    );
    servers.push(server);
    ec2.on(DescribeInstancesCommand).resolves(running());
    expect(await inspector({}, port)({ machine_id: 'm' })).toEqual({
      phase: 'ready',
      host: '127.0.0.1',
      ssh_port: port,
    });
  });

  it('keeps booting while sshd answers without the marker, or does not answer', async () => {
    const plain = await sshServer('SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13');
    const silent = await sshServer(null);
    servers.push(plain.server, silent.server);
    ec2.on(DescribeInstancesCommand).resolves(running());
    expect(await inspector({}, plain.port)({ machine_id: 'm' })).toEqual({
      phase: 'booting',
    });
    expect(await inspector({}, silent.port)({ machine_id: 'm' })).toEqual({
      phase: 'booting',
    });
    expect(await inspector({}, 1)({ machine_id: 'm' })).toEqual({
      phase: 'booting',
    });
  });

  it('keeps booting while EC2 does not list the new instance yet', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .rejects(Object.assign(new Error('nope'), { name: 'InvalidInstanceID.NotFound' }));
    expect(await inspector({})({ machine_id: 'm' })).toEqual({
      phase: 'booting',
    });
  });

  it("reports an instance that stopped while starting as gone, with EC2's reason", async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-1',
              State: { Name: 'terminated' },
              StateReason: { Message: 'Server.InternalError' },
            },
          ],
        },
      ],
    });
    expect(await inspector({})({ machine_id: 'm' })).toEqual({
      phase: 'gone',
      failure_reason: 'the machine stopped while starting (Server.InternalError)',
    });
  });

  it('times out after the provisioning deadline, and stops when the lease ended', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: 'i-1', State: { Name: 'pending' } }] }],
    });
    const late = await inspector({ provision_deadline: '2026-11-29T10:04:00.000Z' })({
      machine_id: 'm',
    });
    expect(late).toMatchObject({
      phase: 'timed_out',
      failure_reason: expect.stringMatching(/did not become ready/),
    });
    expect(await inspector({ status: 'terminating' })({ machine_id: 'm' })).toEqual({
      phase: 'lease_ended',
    });
  });

  it("reports a lease the machine's own callback activated meanwhile as active", async () => {
    expect(await inspector({ status: 'active' })({ machine_id: 'm' })).toEqual({
      phase: 'active',
    });
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
  });

  it('describes the instance the lease records', async () => {
    ec2.on(DescribeInstancesCommand).resolves(running());
    await inspector({ instance_id: 'i-42' })({ machine_id: 'm' });
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ['i-42'],
    });
  });
});
