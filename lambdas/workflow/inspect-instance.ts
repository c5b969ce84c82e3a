import { DescribeInstancesCommand, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import type { Clock, MachineStore, SshProbe } from '../core/ports.js';
import { onWorkflowLambda } from '../runtime/aws-workflow.js';
import { ec2Client } from '../runtime/parts/ec2-client.js';

export interface InspectDependencies {
  ec2: Pick<EC2Client, 'send'>;
  machines: Pick<MachineStore, 'get'>;
  probe: SshProbe;
  clock: Clock;
}

export interface InspectInput {
  machine_id: string;
}

export type InspectResult =
  | { phase: 'booting' }
  /** The machine's own ready callback activated the lease after the workflow stopped waiting. */
  | { phase: 'active' }
  | { phase: 'ready'; host: string; ssh_port: number }
  | { phase: 'lease_ended' }
  | { phase: 'timed_out' | 'gone'; failure_reason: string };

const GONE_STATES = new Set(['shutting-down', 'terminated', 'stopping', 'stopped']);

async function describe(
  deps: InspectDependencies,
  instanceId: string,
): Promise<Instance | undefined> {
  try {
    const { Reservations = [] } = await deps.ec2.send(
      new DescribeInstancesCommand({ InstanceIds: [instanceId] }),
    );
    return Reservations[0]?.Instances?.[0];
  } catch (error) {
    // Right after launch EC2 may not list the instance yet (eventual consistency).
    if ((error as { name?: string }).name === 'InvalidInstanceID.NotFound') return undefined;
    throw error;
  }
}

/**
 * Step "Check instance", the fallback when no ready callback came in time: where
 * provisioning stands. Ready means running, with a public address, and the SSH banner
 * carrying the ready marker that user data adds once the agent's key is installed (and, for
 * the GPU product, the H100 answers nvidia-smi). The instance is the one the lease records.
 */
export const createInspectInstance =
  (deps: InspectDependencies) =>
  async (input: InspectInput): Promise<InspectResult> => {
    const machine = await deps.machines.get(input.machine_id, deps.clock.now());
    if (machine?.status === 'active') return { phase: 'active' };
    if (machine?.status !== 'provisioning') return { phase: 'lease_ended' };
    const instance = machine.instance_id ? await describe(deps, machine.instance_id) : undefined;
    const state = instance?.State?.Name ?? 'pending';
    if (GONE_STATES.has(state)) {
      const why = instance?.StateReason?.Message ?? state;
      return { phase: 'gone', failure_reason: `the machine stopped while starting (${why})` };
    }
    if (deps.clock.now().getTime() > Date.parse(machine.provision_deadline)) {
      return {
        phase: 'timed_out',
        failure_reason: `the machine did not become ready by ${machine.provision_deadline}; it was released`,
      };
    }
    const host = instance?.PublicIpAddress;
    if (state !== 'running' || !host) return { phase: 'booting' };
    return (await deps.probe(host, machine.ssh_port))
      ? { phase: 'ready', host, ssh_port: machine.ssh_port }
      : { phase: 'booting' };
  };

/** Lambda entry point. */
export const handler = onWorkflowLambda((context) => createInspectInstance(context), {
  ec2: ec2Client,
});
