import {
  type CapacityReservation,
  CreateTagsCommand,
  DescribeCapacityReservationsCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  type Instance,
  type InstanceStateName,
  RunInstancesCommand,
  type Tag,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { VcpuQuotaReader } from '../adapters/ec2/ec2-capacity.js';
import { INSTANCE_TAGS } from '../adapters/ec2/instance-tags.js';
import type { SshProbe } from '../core/ports.js';
import { type LeaseNotice, leaseNotice } from '../workflow/user-data.js';
import { AddressPool, DOCUMENTATION_ADDRESSES } from './address-pool.js';
import { FleetJournal } from './fleet-journal.js';

/** vCPUs of the instance types the catalog uses (EC2 instance type specifications); others get 2. */
const VCPUS: Record<string, number> = { 't3.medium': 2, 'p5.4xlarge': 16, 'p5.48xlarge': 192 };
const vcpusOf = (instanceType: string) => VCPUS[instanceType] ?? 2;

/** EC2 filter values match whole strings, with `*` as a wildcard. */
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const matchesAny = (value: string, patterns: readonly string[]) =>
  patterns.some((pattern) =>
    new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`).test(value),
  );

/** JSON with object keys sorted, so two equal requests read the same whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Every parameter of a RunInstances request but its client token: what a repeat must match. */
const launchParameters = ({ ClientToken: _token, ...parameters }: RunInstancesCommand['input']) =>
  canonicalJson(parameters);

/** An EC2 service error as the SDK raises it: `name` and `Code` carry the error code. */
/** EC2's limit on user data, in raw form (before base64). */
export const MAX_USER_DATA_BYTES = 16 * 1024;

export class SimulatedEc2Error extends Error {
  readonly Code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = code;
    this.Code = code;
  }
}

export interface SimulatedEc2Timing {
  /** pending → running. */
  bootMs: number;
  /** running → the SSH banner says ready (user data done). */
  readyMs: number;
  /** shutting-down → terminated. */
  shutdownMs: number;
}

export interface SimulatedEc2Options {
  /** A file that keeps the fleet across restarts (launches stay idempotent by client token). */
  journalFile?: string;
  /** Public addresses to hand out; by default the IPv4 documentation ranges (762 addresses). */
  addresses?: readonly string[];
}

interface SimulatedInstance {
  id: string;
  instanceType: string;
  subnetId: string;
  tags: Tag[];
  launchedAt: number;
  state: InstanceStateName;
  stateSince: number;
  host: string;
  clientToken: string;
  /** The launch's user data (base64), as the machine holds it: its boot script survives a restart of the storefront. */
  userData?: string;
  /**
   * The parameters of the RunInstances request that launched it (canonical JSON), which a
   * repeat with its client token must match; absent for strays and older journals.
   */
  launchParameters?: string;
}

/** A machine whose boot script was running when the fleet was read back from its journal. */
export interface RestoredBoot {
  instanceId: string;
  host: string;
  userData: string;
  /** Clock milliseconds since its launch. */
  sinceLaunchMs: number;
}

/**
 * A small stand-in for the EC2 API, for the local storefront and the tests: the calls the
 * lease workflow makes (RunInstances with client tokens, DescribeInstances by id or tag,
 * TerminateInstances, CreateTags, DescribeCapacityReservations), instances that boot, get a
 * documentation-range address that no other live instance holds, become ready and shut down
 * on a clock, and switches to make launches fail the way EC2 does. With a journal file the
 * fleet outlives the process, as EC2 outlives a crashed caller.
 */
export class SimulatedEc2 {
  private readonly instances = new Map<string, SimulatedInstance>();
  private readonly byToken = new Map<string, string>();
  private sequence = 0;
  private readonly addresses: AddressPool;
  private readonly journal: FleetJournal<SimulatedInstance> | undefined;
  private readonly restored: SimulatedInstance[] = [];
  /** Every call, with the simulated clock's time it was made at. */
  readonly calls: { command: string; input: unknown; at: number }[] = [];
  /** Told of each new instance and its user data (its boot script runs elsewhere: simulated-boot.ts). */
  onLaunched?: (launch: { instanceId: string; host: string; userData: string }) => void;
  /** Instance types that have no capacity now (RunInstances fails with InsufficientInstanceCapacity). */
  readonly outOfCapacity = new Set<string>();
  /** The next RunInstances calls fail with these codes, in order. */
  readonly launchFailures: string[] = [];
  /** Instances that never pass their readiness check (a GPU that does not come up). */
  readonly neverReady = new Set<string>();
  /** What DescribeCapacityReservations returns. */
  capacityReservations: CapacityReservation[] = [];
  /**
   * Instances that the next DescribeInstances calls still leave out, with how many calls
   * (DescribeInstances is eventually consistent: a new instance may not be listed at once).
   */
  readonly notYetListed = new Map<string, number>();
  /** Instance types offered in none of the zones (DescribeInstanceTypeOfferings lists none). */
  readonly notOffered = new Set<string>();
  /** Applied On-Demand vCPU quotas by Service Quotas code; a code not set reads as 1024. */
  readonly vcpuQuotas = new Map<string, number>();

  constructor(
    private readonly instanceTypeOfTemplate: (launchTemplateId: string) => string,
    private readonly timing: SimulatedEc2Timing,
    private readonly now: () => number = Date.now,
    options: SimulatedEc2Options = {},
  ) {
    this.addresses = new AddressPool(options.addresses ?? DOCUMENTATION_ADDRESSES);
    this.journal = options.journalFile ? new FleetJournal(options.journalFile) : undefined;
    for (const instance of this.journal?.load() ?? []) this.restore(instance);
  }

  /** The EC2Client.send subset the workflow uses. */
  async send(command: object): Promise<never> {
    const input = (command as { input: unknown }).input;
    this.calls.push({ command: command.constructor.name, input, at: this.now() });
    if (command instanceof RunInstancesCommand) return this.runInstances(command.input) as never;
    if (command instanceof DescribeInstancesCommand)
      return this.describeInstances(command.input) as never;
    if (command instanceof TerminateInstancesCommand)
      return this.terminateInstances(command.input) as never;
    if (command instanceof CreateTagsCommand) return this.createTags(command.input) as never;
    if (command instanceof DescribeInstanceTypeOfferingsCommand)
      return this.describeInstanceTypeOfferings(command.input) as never;
    if (command instanceof DescribeInstanceTypesCommand)
      return this.describeInstanceTypes(command.input) as never;
    if (command instanceof DescribeCapacityReservationsCommand)
      return this.describeCapacityReservations() as never;
    throw new SimulatedEc2Error(
      'UnsupportedOperation',
      `the simulated EC2 does not implement ${command.constructor.name}`,
    );
  }

  /** Readiness as the machine's SSH banner would report it. */
  readonly probe: SshProbe = async (host) => {
    // Only the instance holding the address now answers on it, as on a real network.
    const holder = this.addresses.holderOf(host);
    const instance = holder === undefined ? undefined : this.instances.get(holder);
    if (!instance) return false;
    this.advance(instance);
    return (
      instance.state === 'running' &&
      !this.neverReady.has(instance.id) &&
      this.now() >= instance.stateSince + this.timing.readyMs
    );
  };

  /** Instances not yet terminated: what would still be billing. */
  /**
   * The instances still running or starting: EC2 bills neither `shutting-down` ("Instance usage
   * billing: Not billed", EC2 user guide, instance lifecycle) nor `terminated`, and End lease
   * records a lease's end once its instance is shutting down.
   */
  running(): Instance[] {
    return [...this.instances.values()]
      .map((instance) => this.view(instance))
      .filter((instance) => !['shutting-down', 'terminated'].includes(instance.State?.Name ?? ''));
  }

  instance(id: string): Instance | undefined {
    const instance = this.instances.get(id);
    return instance ? this.view(instance) : undefined;
  }

  /** Launches an instance directly, as a person or a bug might, outside any lease. */
  launchStray(tags: Tag[]): string {
    return this.create('t3.medium', 'subnet-stray', tags, `stray-${this.sequence}`);
  }

  /**
   * Machines read back from the journal that are still running or booting: on a real account a
   * restart of the storefront does not stop them, so their boot scripts go on.
   */
  restoredBoots(): RestoredBoot[] {
    return this.restored.flatMap((instance) => {
      this.advance(instance);
      if (!instance.userData || !['pending', 'running'].includes(instance.state)) return [];
      return [
        {
          instanceId: instance.id,
          host: instance.host,
          userData: instance.userData,
          sinceLaunchMs: this.now() - instance.launchedAt,
        },
      ];
    });
  }

  private create(
    instanceType: string,
    subnetId: string,
    tags: Tag[],
    clientToken: string,
    launch: { userData?: string; parameters?: string } = {},
  ): string {
    const id = `i-${(this.sequence + 1).toString(16).padStart(17, '0')}`;
    const host = this.addresses.take(id, (holderId) => this.holdsAddress(holderId));
    if (!host) {
      throw new SimulatedEc2Error(
        'InsufficientFreeAddressesInSubnet',
        'There are not enough free addresses in the subnet to satisfy the request.',
      );
    }
    this.sequence += 1;
    const instance: SimulatedInstance = {
      id,
      instanceType,
      subnetId,
      tags,
      launchedAt: this.now(),
      state: 'pending',
      stateSince: this.now(),
      host,
      clientToken,
      ...(launch.userData ? { userData: launch.userData } : {}),
      ...(launch.parameters ? { launchParameters: launch.parameters } : {}),
    };
    this.instances.set(id, instance);
    this.byToken.set(clientToken, id);
    this.journal?.record(instance);
    return id;
  }

  /** An instance read back from the journal, with its address and client token. */
  private restore(instance: SimulatedInstance) {
    this.restored.push(instance);
    this.instances.set(instance.id, instance);
    this.byToken.set(instance.clientToken, instance.id);
    this.sequence = Math.max(this.sequence, Number.parseInt(instance.id.slice(2), 16) || 0);
    if (instance.state !== 'terminated') this.addresses.restore(instance.host, instance.id);
  }

  private holdsAddress(instanceId: string): boolean {
    const instance = this.instances.get(instanceId);
    if (!instance) return false;
    this.advance(instance);
    return instance.state !== 'terminated';
  }

  private runInstances(input: RunInstancesCommand['input']) {
    const parameters = launchParameters(input);
    const existingId = input.ClientToken ? this.byToken.get(input.ClientToken) : undefined;
    const existing = existingId ? this.instances.get(existingId) : undefined;
    if (existing) {
      // "If you repeat the request with the same client token, but change another request
      // parameter, Amazon EC2 returns an IdempotentParameterMismatch error." (EC2 API
      // Reference, "Ensuring idempotency")
      if (existing.launchParameters !== undefined && existing.launchParameters !== parameters) {
        throw new SimulatedEc2Error(
          'IdempotentParameterMismatch',
          'The request uses the same client token as a previous, but non-identical request. Do not reuse a client token with different requests, unless the requests are identical.',
        );
      }
      return { Instances: [this.view(existing)] };
    }
    const failure = this.launchFailures.shift();
    if (failure) throw new SimulatedEc2Error(failure, `simulated ${failure}`);
    // "User data is limited to 16 KB, in raw form, before it is base64-encoded" (EC2 user
    // guide, "Run commands when you launch an EC2 instance with user data input").
    const userDataBytes = Buffer.from(input.UserData ?? '', 'base64').length;
    if (userDataBytes > MAX_USER_DATA_BYTES) {
      throw new SimulatedEc2Error(
        'InvalidParameterValue',
        `User data is limited to ${MAX_USER_DATA_BYTES} bytes (this one has ${userDataBytes})`,
      );
    }
    const instanceType = this.instanceTypeOfTemplate(input.LaunchTemplate?.LaunchTemplateId ?? '');
    if (this.outOfCapacity.has(instanceType)) {
      throw new SimulatedEc2Error(
        'InsufficientInstanceCapacity',
        `We currently do not have sufficient ${instanceType} capacity in the Availability Zone you requested.`,
      );
    }
    const tags =
      input.TagSpecifications?.find((spec) => spec.ResourceType === 'instance')?.Tags ?? [];
    const id = this.create(
      instanceType,
      input.SubnetId ?? 'subnet-default',
      tags,
      input.ClientToken ?? `token-${this.sequence}`,
      { ...(input.UserData ? { userData: input.UserData } : {}), parameters },
    );
    const launched = this.instances.get(id) as SimulatedInstance;
    this.onLaunched?.({ instanceId: id, host: launched.host, userData: input.UserData ?? '' });
    return { Instances: [this.view(this.instances.get(id) as SimulatedInstance)] };
  }

  private describeInstances(input: DescribeInstancesCommand['input']) {
    let selected = [...this.instances.values()];
    if (input.InstanceIds?.length) {
      const missing = input.InstanceIds.find((id) => !this.instances.has(id));
      if (missing)
        throw new SimulatedEc2Error(
          'InvalidInstanceID.NotFound',
          `The instance ID '${missing}' does not exist`,
        );
      selected = input.InstanceIds.map((id) => this.instances.get(id) as SimulatedInstance);
    }
    selected = selected.filter((instance) => {
      const unlistedCalls = this.notYetListed.get(instance.id) ?? 0;
      if (unlistedCalls <= 0) return true;
      this.notYetListed.set(instance.id, unlistedCalls - 1);
      return false;
    });
    for (const filter of input.Filters ?? []) {
      const values = filter.Values ?? [];
      selected = selected.filter((instance) => {
        this.advance(instance);
        if (filter.Name === 'instance-state-name') return values.includes(instance.state);
        if (filter.Name === 'client-token') return values.includes(instance.clientToken);
        if (filter.Name === 'instance-type') return matchesAny(instance.instanceType, values);
        if (filter.Name?.startsWith('tag:')) {
          const key = filter.Name.slice(4);
          return instance.tags.some((tag) => tag.Key === key && values.includes(tag.Value ?? ''));
        }
        return true;
      });
    }
    return {
      Reservations: selected.length
        ? [{ Instances: selected.map((instance) => this.view(instance)) }]
        : [],
    };
  }

  private terminateInstances(input: TerminateInstancesCommand['input']) {
    const TerminatingInstances = (input.InstanceIds ?? []).map((id) => {
      const instance = this.instances.get(id);
      if (!instance)
        throw new SimulatedEc2Error(
          'InvalidInstanceID.NotFound',
          `The instance ID '${id}' does not exist`,
        );
      this.advance(instance);
      const previous = instance.state;
      if (previous !== 'terminated' && previous !== 'shutting-down') {
        instance.state = 'shutting-down';
        instance.stateSince = this.now();
        this.journal?.record(instance);
      }
      return {
        InstanceId: id,
        PreviousState: { Name: previous },
        CurrentState: { Name: instance.state },
      };
    });
    return { TerminatingInstances };
  }

  private describeCapacityReservations() {
    return { CapacityReservations: this.capacityReservations };
  }

  /** Service Quotas' GetServiceQuota for EC2's vCPU quotas, as the capacity check reads it. */
  readonly serviceQuota: VcpuQuotaReader = async (quotaCode) =>
    this.vcpuQuotas.get(quotaCode) ?? 1024;

  /**
   * What the machine's lease timer (installed by user data) would show now: the lease file
   * and the warning due, read from the instance's lease tag as the machine reads it via IMDS.
   */
  leaseTimer(instanceId: string): LeaseNotice | undefined {
    const instance = this.instances.get(instanceId);
    const endsAt = instance?.tags.find((tag) => tag.Key === INSTANCE_TAGS.leaseEndsAt)?.Value;
    return endsAt ? leaseNotice(endsAt, new Date(this.now())) : undefined;
  }

  private createTags(input: CreateTagsCommand['input']) {
    for (const id of input.Resources ?? []) {
      const instance = this.instances.get(id);
      if (!instance) {
        throw new SimulatedEc2Error(
          'InvalidInstanceID.NotFound',
          `The instance ID '${id}' does not exist`,
        );
      }
      for (const tag of input.Tags ?? []) {
        instance.tags = [...instance.tags.filter((existing) => existing.Key !== tag.Key), tag];
      }
    }
    return {};
  }

  private describeInstanceTypeOfferings(input: DescribeInstanceTypeOfferingsCommand['input']) {
    const filter = (name: string) => input.Filters?.find((candidate) => candidate.Name === name);
    const types = (filter('instance-type')?.Values ?? []).filter(
      (type) => !this.notOffered.has(type),
    );
    const zones = filter('location')?.Values ?? [];
    return {
      InstanceTypeOfferings: types.flatMap((type) =>
        zones.map((zone) => ({
          InstanceType: type as Instance['InstanceType'],
          LocationType: input.LocationType,
          Location: zone,
        })),
      ),
    };
  }

  private describeInstanceTypes(input: DescribeInstanceTypesCommand['input']) {
    return {
      InstanceTypes: (input.InstanceTypes ?? []).map((type) => ({
        InstanceType: type,
        VCpuInfo: { DefaultVCpus: vcpusOf(type) },
      })),
    };
  }

  /** Moves an instance along its lifecycle according to the clock. */
  private advance(instance: SimulatedInstance) {
    const elapsed = this.now() - instance.stateSince;
    if (instance.state === 'pending' && elapsed >= this.timing.bootMs) {
      instance.state = 'running';
      instance.stateSince = this.now();
    } else if (instance.state === 'shutting-down' && elapsed >= this.timing.shutdownMs) {
      instance.state = 'terminated';
      instance.stateSince = this.now();
      this.addresses.release(instance.host, instance.id);
    }
  }

  private view(instance: SimulatedInstance): Instance {
    this.advance(instance);
    const hasAddress = instance.state === 'running' || instance.state === 'stopping';
    return {
      InstanceId: instance.id,
      InstanceType: instance.instanceType as Instance['InstanceType'],
      SubnetId: instance.subnetId,
      State: { Name: instance.state },
      Tags: instance.tags,
      ClientToken: instance.clientToken,
      CpuOptions: { CoreCount: vcpusOf(instance.instanceType) / 2, ThreadsPerCore: 2 },
      LaunchTime: new Date(instance.launchedAt),
      ...(hasAddress ? { PublicIpAddress: instance.host } : {}),
    };
  }
}
