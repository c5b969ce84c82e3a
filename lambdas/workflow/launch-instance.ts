import {
  DescribeCapacityReservationsCommand,
  DescribeInstancesCommand,
  type EC2Client,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import {
  CAPACITY_BLOCK_END_MARGIN_MINUTES,
  usableCapacityBlock,
} from '../adapters/ec2/capacity-blocks.js';
import { INSTANCE_TAGS } from '../adapters/ec2/instance-tags.js';
import { readyUrl } from '../core/machine.js';
import type { Clock, Logger, MachineStore } from '../core/ports.js';
import type { CapacityBlockPolicy, Catalog, Product, ProductId } from '../core/products.js';
import { issueReadinessSecret } from '../core/readiness-secret.js';
import { onWorkflowLambda } from '../runtime/aws-workflow.js';
import { ec2Client } from '../runtime/parts/ec2-client.js';
import { parameterStorePublicUrl } from '../runtime/parts/parameter-store-public-url.js';
import { launchEnvironmentSchema } from '../runtime/workflow-environment.js';
import { classifyLaunchError, launchedByAnEarlierAttempt, launchFailure } from './launch-errors.js';
import { renderUserData } from './user-data.js';
import { WORKFLOW_ERRORS, WorkflowError } from './workflow-errors.js';

export interface Subnet {
  id: string;
  availabilityZone: string;
}

export interface LaunchDependencies {
  ec2: Pick<EC2Client, 'send'>;
  machines: Pick<MachineStore, 'get'>;
  lifecycle: Pick<LeaseLifecycleStore, 'recordLaunch'>;
  catalog: Catalog;
  /** Launch template per product; a product without one cannot be launched here. */
  launchTemplates: Readonly<Partial<Record<ProductId, string>>>;
  subnets: readonly Subnet[];
  /** Value of the managed-by tag: the stack's name. */
  managedBy: string;
  /**
   * The storefront's public URL as the deployment knows it (never as an order's request
   * said it): the machine reports ready there. Undefined when it cannot be read now: that
   * launch goes on and its readiness is polled.
   */
  publicBaseUrl: () => Promise<string | undefined>;
  clock: Clock;
  log: Logger;
  /** Waits between looks for an earlier attempt's instance; a timer unless a test speeds it up. */
  pause?: (ms: number) => Promise<void>;
}

export interface LaunchInput {
  machine_id: string;
  /**
   * The task token of the workflow's wait for the machine's ready callback: stored with the
   * instance, it is what the ready endpoint (or an early DELETE) completes.
   */
  token?: string;
}

export interface LaunchResult {
  instance_id: string;
}

interface Placement {
  subnets: readonly Subnet[];
  extra: Partial<RunInstancesCommandInput>;
  hardStopAt?: string;
}

async function capacityBlockPlacement(
  deps: LaunchDependencies,
  policy: CapacityBlockPolicy,
  leaseMinutes: number,
): Promise<Placement | undefined> {
  const { CapacityReservations = [] } = await deps.ec2.send(
    new DescribeCapacityReservationsCommand({
      CapacityReservationIds: policy.reservationIds,
      Filters: [{ Name: 'state', Values: ['active'] }],
    }),
  );
  const block = usableCapacityBlock(CapacityReservations, {
    now: deps.clock.now(),
    leaseMinutes,
    zones: deps.subnets.map((subnet) => subnet.availabilityZone),
  });
  if (!block?.CapacityReservationId) return undefined;
  return {
    subnets: deps.subnets.filter((subnet) => subnet.availabilityZone === block.AvailabilityZone),
    extra: {
      InstanceMarketOptions: { MarketType: 'capacity-block' },
      CapacityReservationSpecification: {
        CapacityReservationTarget: { CapacityReservationId: block.CapacityReservationId },
      },
    },
    ...(block.EndDate
      ? {
          hardStopAt: new Date(
            block.EndDate.getTime() - CAPACITY_BLOCK_END_MARGIN_MINUTES * 60_000,
          ).toISOString(),
        }
      : {}),
  };
}

/** Zones in an order that spreads leases out, starting from a place fixed per machine. */
function rotated(subnets: readonly Subnet[], machineId: string): Subnet[] {
  const start = Number.parseInt(machineId.slice(-4), 16) % Math.max(1, subnets.length);
  return [...subnets.slice(start), ...subnets.slice(0, start)];
}

async function placementFor(
  deps: LaunchDependencies,
  product: Product,
  machineId: string,
  leaseMinutes: number,
) {
  const policy = product.instance.capacityBlocks;
  const onDemand: Placement = { subnets: rotated(deps.subnets, machineId), extra: {} };
  if (!policy) return onDemand;
  const block = await capacityBlockPlacement(deps, policy, leaseMinutes);
  if (block) return block;
  if (policy.whenUnavailable === 'fail') {
    throw new WorkflowError(
      WORKFLOW_ERRORS.capacityUnavailable,
      `no reserved ${product.instance.instanceType} capacity is free for a ${leaseMinutes}-minute lease of ${product.id} right now; try again later`,
    );
  }
  deps.log.info('lease.capacity_block_unavailable', {
    machine_id: machineId,
    falling_back: 'on-demand',
  });
  return onDemand;
}

/**
 * Waits before each look for an earlier attempt's instance: DescribeInstances is eventually
 * consistent, so an instance RunInstances knows may not be listed yet. Short and bounded
 * (under 2 s in all) within the step's time; what stays unseen is left to the workflow's retry.
 */
const EARLIER_LAUNCH_LOOKUP_PAUSES_MS = [0, 250, 500, 1_000];

const pauseFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The instance an earlier attempt launched with this client token, once EC2 lists it. */
async function findEarlierLaunch(
  deps: LaunchDependencies,
  clientToken: string,
): Promise<string | undefined> {
  const pause = deps.pause ?? pauseFor;
  for (const ms of EARLIER_LAUNCH_LOOKUP_PAUSES_MS) {
    if (ms > 0) await pause(ms);
    const { Reservations = [] } = await deps.ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'client-token', Values: [clientToken] }] }),
    );
    // A token names one launch: whatever became of its instance, the inspection that follows
    // reports it (a stopped or terminated one fails the lease there).
    const instanceId = Reservations.flatMap((reservation) => reservation.Instances ?? [])[0]
      ?.InstanceId;
    if (instanceId) return instanceId;
  }
  return undefined;
}

const leaseEnded = (status: string | undefined) =>
  new WorkflowError(WORKFLOW_ERRORS.leaseNotActive, `lease is ${status ?? 'gone'}`);

/**
 * Step "Launch instance": runs the lease's instance from the product's launch template,
 * with a one-time readiness secret in its user data, and records the instance, the secret's
 * hash and the workflow's wait token in one write; the workflow then waits for the machine's
 * ready callback. The client token is derived from the machine id (and the zone tried), so a
 * retried step gets the instance it already launched instead of launching another: EC2 refuses
 * the repeat, whose secret (and lease tags) differ, with IdempotentParameterMismatch, and the
 * step adopts the instance it finds by that token, to be polled for readiness; zones
 * are tried in turn when one has no capacity. A lease that ended before or during the launch
 * fails the step with LeaseNotActive (any instance it launched is terminated first).
 */
export const createLaunchInstance =
  (deps: LaunchDependencies) =>
  async (input: LaunchInput): Promise<LaunchResult> => {
    const machine = await deps.machines.get(input.machine_id, deps.clock.now());
    if (machine?.status !== 'provisioning') throw leaseEnded(machine?.status);
    if (machine.instance_id) {
      // Relaunched (a retried step, a resumed execution): the instance and its secret stand;
      // only the wait token is new.
      const recorded = await deps.lifecycle.recordLaunch(machine.machine_id, {
        instanceId: machine.instance_id,
        ...(input.token ? { waitToken: input.token } : {}),
      });
      if (!recorded) throw leaseEnded('no longer provisioning');
      return { instance_id: machine.instance_id };
    }

    const product = deps.catalog[machine.product_id];
    const placement = await placementFor(deps, product, machine.machine_id, machine.lease_minutes);
    const tags = [
      { Key: INSTANCE_TAGS.managedBy, Value: deps.managedBy },
      { Key: INSTANCE_TAGS.machineId, Value: machine.machine_id },
      { Key: INSTANCE_TAGS.product, Value: machine.product_id },
      { Key: INSTANCE_TAGS.leaseEndsAtLaunch, Value: machine.expires_at },
      // Provisional until activation restarts the clock; read by the machine's lease timer.
      { Key: INSTANCE_TAGS.leaseEndsAt, Value: machine.expires_at },
      { Key: 'Name', Value: `storefront ${machine.machine_id}` },
    ];
    // Only a launch that knows the storefront's public URL can be called back; others are polled.
    const publicBaseUrl = await deps.publicBaseUrl();
    const readiness = publicBaseUrl ? issueReadinessSecret() : undefined;
    const userData = Buffer.from(
      renderUserData({
        sshPublicKey: machine.ssh_public_key,
        readiness: product.readiness,
        ...(readiness && publicBaseUrl
          ? {
              readyCallback: {
                url: readyUrl(publicBaseUrl, machine.machine_id),
                secret: readiness.secret,
              },
            }
          : {}),
      }),
    ).toString('base64');

    const launchTemplateId = deps.launchTemplates[product.id];
    if (!launchTemplateId)
      throw new WorkflowError(
        WORKFLOW_ERRORS.launchRejected,
        `${product.id} cannot be launched: the stack has no launch template for it`,
      );
    let instanceId: string | undefined;
    let adoptedFromEarlierAttempt = false;
    let lastCapacityError: unknown;
    for (const [index, subnet] of placement.subnets.entries()) {
      const clientToken = `${machine.machine_id}-${subnet.availabilityZone}`;
      try {
        const { Instances = [] } = await deps.ec2.send(
          new RunInstancesCommand({
            ClientToken: clientToken,
            LaunchTemplate: {
              LaunchTemplateId: launchTemplateId,
              Version: '$Latest',
            },
            SubnetId: subnet.id,
            MinCount: 1,
            MaxCount: 1,
            UserData: userData,
            TagSpecifications: [
              { ResourceType: 'instance', Tags: tags },
              { ResourceType: 'volume', Tags: tags },
            ],
            ...placement.extra,
          }),
        );
        instanceId = Instances[0]?.InstanceId;
        break;
      } catch (error) {
        if (launchedByAnEarlierAttempt(error)) {
          instanceId = await findEarlierLaunch(deps, clientToken);
          if (!instanceId) {
            throw new WorkflowError(
              WORKFLOW_ERRORS.launchThrottled,
              'the instance of an earlier launch attempt is not listed by EC2 yet; the launch is retried',
            );
          }
          adoptedFromEarlierAttempt = true;
          break;
        }
        if (classifyLaunchError(error) !== 'capacity')
          throw launchFailure(error, {
            id: product.id,
            instanceType: product.instance.instanceType,
          });
        deps.log.info('lease.zone_without_capacity', {
          machine_id: machine.machine_id,
          zone: subnet.availabilityZone,
          attempt: index + 1,
        });
        lastCapacityError = error;
      }
    }
    if (!instanceId) {
      throw launchFailure(lastCapacityError ?? { name: 'InsufficientInstanceCapacity' }, {
        id: product.id,
        instanceType: product.instance.instanceType,
      });
    }

    // An adopted instance's boot script holds the secret of an attempt that died before
    // storing its hash: no hash can match it, so its readiness is found by polling.
    const readySecretHash = adoptedFromEarlierAttempt ? undefined : readiness?.hash;
    const recorded = await deps.lifecycle
      .recordLaunch(machine.machine_id, {
        instanceId,
        ...(placement.hardStopAt ? { hardStopAt: placement.hardStopAt } : {}),
        ...(readySecretHash ? { readySecretHash } : {}),
        ...(input.token ? { waitToken: input.token } : {}),
      })
      .catch((error: unknown) => {
        // The instance runs but is not on record (a throttled partition past the SDK's own
        // retries, say): the step is retried, and adopts it, rather than failing a paid lease.
        throw new WorkflowError(
          WORKFLOW_ERRORS.launchThrottled,
          `the launched instance could not be recorded (${(error as Error).name}); the launch is retried`,
        );
      });
    if (!recorded) {
      // Terminated (or failed) while the launch was in flight: the instance must not live on.
      await deps.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
      deps.log.info('lease.launch_cancelled', {
        machine_id: machine.machine_id,
        instance_id: instanceId,
      });
      throw leaseEnded('no longer provisioning: the launch was cancelled');
    }
    if (adoptedFromEarlierAttempt) {
      deps.log.info('lease.launch_adopted', {
        machine_id: machine.machine_id,
        instance_id: instanceId,
        ready_by: 'polling',
      });
    }
    deps.log.info('lease.launched', {
      machine_id: machine.machine_id,
      instance_id: instanceId,
      product: product.id,
    });
    return { instance_id: instanceId };
  };

/**
 * The deployment's public URL, read once it is first needed and kept once read; a failed
 * read is logged and that launch is polled for readiness instead of failing a paid lease.
 */
function deploymentPublicUrl(context: {
  config: { PUBLIC_URL_PARAMETER: string };
  clients: Parameters<typeof parameterStorePublicUrl>[0];
  log: Logger;
}): () => Promise<string | undefined> {
  let known: string | undefined;
  return async () => {
    if (known) return known;
    try {
      known = await parameterStorePublicUrl(context.clients, context.config.PUBLIC_URL_PARAMETER);
    } catch (error) {
      context.log.error('lease.public_url_unreadable', {
        parameter: context.config.PUBLIC_URL_PARAMETER,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
    }
    return known;
  };
}

/** Lambda entry point. */
export const handler = onWorkflowLambda(
  (context) =>
    createLaunchInstance({
      ...context,
      launchTemplates: context.config.LAUNCH_TEMPLATES as Record<ProductId, string>,
      subnets: context.config.SUBNETS,
      managedBy: context.config.MANAGED_BY,
      publicBaseUrl: deploymentPublicUrl(context),
    }),
  { environment: launchEnvironmentSchema, ec2: ec2Client },
);
