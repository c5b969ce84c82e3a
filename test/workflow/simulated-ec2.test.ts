import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeInstancesCommand,
  type Instance,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DOCUMENTATION_ADDRESSES } from '../../lambdas/local/address-pool.js';
import { SimulatedEc2, type SimulatedEc2Options } from '../../lambdas/local/simulated-ec2.js';

const TIMING = { bootMs: 10, readyMs: 0, shutdownMs: 10 };

function fleet(options: SimulatedEc2Options = {}) {
  let now = 0;
  const ec2 = new SimulatedEc2(
    () => 't3.medium',
    TIMING,
    () => now,
    options,
  );
  const launch = async (clientToken: string): Promise<string> => {
    const { Instances } = (await ec2.send(
      new RunInstancesCommand({ ClientToken: clientToken, MinCount: 1, MaxCount: 1 }),
    )) as { Instances: Instance[] };
    return Instances[0]?.InstanceId as string;
  };
  const terminate = (id: string) => ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  const passTime = (ms: number) => {
    now += ms;
  };
  return { ec2, launch, terminate, passTime };
}

const liveAddresses = (ec2: SimulatedEc2) =>
  ec2
    .running()
    .filter((instance) => instance.State?.Name === 'running')
    .map((instance) => instance.PublicIpAddress as string);

describe('the simulated EC2 fleet', () => {
  it('never gives two live machines one address, over far more launches than one /24 holds', async () => {
    const { ec2, launch, terminate, passTime } = fleet();
    const launched: string[] = [];
    let reusedAddresses = 0;
    const everUsed = new Set<string>();
    for (let lease = 0; lease < 1_500; lease += 1) {
      const id = await launch(`lease-${lease}`);
      launched.push(id);
      // About 300 machines live at once: more than a /24, fewer than the pool.
      if (launched.length > 300) await terminate(launched.shift() as string);
      passTime(TIMING.bootMs);
      const address = ec2.instance(id)?.PublicIpAddress as string;
      if (everUsed.has(address)) reusedAddresses += 1;
      everUsed.add(address);
      // The newest machine answers on its own address, whoever held that address before.
      expect(await ec2.probe(address, 22)).toBe(true);
      if (lease % 50 === 0) {
        const live = liveAddresses(ec2);
        expect(new Set(live).size).toBe(live.length);
      }
    }
    const live = liveAddresses(ec2);
    expect(live).toHaveLength(300);
    expect(new Set(live).size).toBe(300);
    expect(reusedAddresses).toBeGreaterThan(0);
    expect(everUsed.size).toBe(DOCUMENTATION_ADDRESSES.length);
  });

  it('answers a probe for the machine that holds the address now, not an earlier one', async () => {
    const { ec2, launch, terminate, passTime } = fleet({ addresses: ['192.0.2.10'] });
    const first = await launch('first');
    passTime(TIMING.bootMs);
    ec2.neverReady.add(first);
    expect(await ec2.probe('192.0.2.10', 22)).toBe(false);
    await terminate(first);
    passTime(TIMING.shutdownMs);
    const second = await launch('second');
    passTime(TIMING.bootMs);
    expect(ec2.instance(second)?.PublicIpAddress).toBe('192.0.2.10');
    expect(await ec2.probe('192.0.2.10', 22)).toBe(true);
  });

  it('refuses a launch when every address is held, as EC2 does, until an instance is gone', async () => {
    const { ec2, launch, terminate, passTime } = fleet({ addresses: ['192.0.2.1', '192.0.2.2'] });
    const first = await launch('a');
    await launch('b');
    await expect(launch('c')).rejects.toMatchObject({ name: 'InsufficientFreeAddressesInSubnet' });
    await terminate(first);
    // Shutting down still holds the address.
    await expect(launch('c')).rejects.toMatchObject({ name: 'InsufficientFreeAddressesInSubnet' });
    passTime(TIMING.shutdownMs);
    const third = await launch('c');
    passTime(TIMING.bootMs);
    expect(ec2.instance(third)?.PublicIpAddress).toBe('192.0.2.1');
    expect(ec2.instance(first)?.State?.Name).toBe('terminated');
  });

  it('comes back from its journal: same instances, same addresses, launches idempotent by client token', async () => {
    const journalFile = join(mkdtempSync(join(tmpdir(), 'simulated-ec2-')), 'fleet.jsonl');
    const before = fleet({ journalFile });
    const kept = await before.launch('lease-kept');
    const ended = await before.launch('lease-ended');
    await before.terminate(ended);
    before.passTime(TIMING.bootMs);
    const keptAddress = before.ec2.instance(kept)?.PublicIpAddress;
    // A process killed in the middle of a write leaves a torn last line.
    appendFileSync(journalFile, '{"id":"i-0000');

    const after = fleet({ journalFile });
    after.passTime(TIMING.bootMs);
    expect(after.ec2.instance(kept)).toMatchObject({
      State: { Name: 'running' },
      PublicIpAddress: keptAddress,
    });
    expect(after.ec2.instance(ended)?.State?.Name).toMatch(/shutting-down|terminated/);
    // The same client token returns the instance launched before the restart.
    expect(await after.launch('lease-kept')).toBe(kept);
    const fresh = await after.launch('lease-new');
    expect([kept, ended]).not.toContain(fresh);
    after.passTime(TIMING.bootMs);
    expect(after.ec2.instance(fresh)?.PublicIpAddress).not.toBe(keptAddress);
    expect(after.ec2.running().map((instance) => instance.InstanceId)).toEqual([kept, fresh]);
  });
});

describe('the simulated EC2 and client tokens', () => {
  const request = (overrides: Partial<RunInstancesCommand['input']> = {}) =>
    new RunInstancesCommand({
      ClientToken: 'machine_1-us-east-1a',
      LaunchTemplate: { LaunchTemplateId: 'lt-bare', Version: '$Latest' },
      SubnetId: 'subnet-a',
      MinCount: 1,
      MaxCount: 1,
      UserData: Buffer.from('first secret').toString('base64'),
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'lease', Value: '10:15' }] }],
      ...overrides,
    });
  const launchedId = async (ec2: SimulatedEc2, command: RunInstancesCommand) =>
    ((await ec2.send(command)) as { Instances: Instance[] }).Instances[0]?.InstanceId;

  it('answers an identical repeat with the same instance, and a changed one with IdempotentParameterMismatch', async () => {
    const { ec2 } = fleet();
    const first = await launchedId(ec2, request());
    expect(await launchedId(ec2, request())).toBe(first);
    for (const changed of [
      { UserData: Buffer.from('second secret').toString('base64') },
      {
        TagSpecifications: [
          { ResourceType: 'instance' as const, Tags: [{ Key: 'lease', Value: '10:45' }] },
        ],
      },
      { SubnetId: 'subnet-b' },
      { LaunchTemplate: { LaunchTemplateId: 'lt-gpu', Version: '$Latest' } },
      { MaxCount: 2 },
      { InstanceMarketOptions: { MarketType: 'capacity-block' as const } },
    ]) {
      await expect(ec2.send(request(changed))).rejects.toMatchObject({
        name: 'IdempotentParameterMismatch',
        Code: 'IdempotentParameterMismatch',
      });
    }
    expect(ec2.running().map((instance) => instance.InstanceId)).toEqual([first]);
  });

  it('keeps refusing a changed repeat after a restart, and lists the instance by its client token', async () => {
    const journalFile = join(mkdtempSync(join(tmpdir(), 'simulated-ec2-')), 'fleet.jsonl');
    const first = await launchedId(fleet({ journalFile }).ec2, request());
    const { ec2 } = fleet({ journalFile });
    await expect(
      ec2.send(request({ UserData: Buffer.from('second secret').toString('base64') })),
    ).rejects.toMatchObject({ name: 'IdempotentParameterMismatch' });
    expect(await launchedId(ec2, request())).toBe(first);
    const { Reservations } = (await ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'client-token', Values: ['machine_1-us-east-1a'] }],
      }),
    )) as { Reservations: { Instances: Instance[] }[] };
    expect(Reservations.flatMap((r) => r.Instances).map((i) => i.InstanceId)).toEqual([first]);
  });
});
