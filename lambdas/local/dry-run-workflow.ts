import type { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import { leaseEndFromActivation, type MachineRecord } from '../core/machine.js';
import type { Clock, LeaseWorkflow, Logger, MachineStore } from '../core/ports.js';

export interface DryRunTiming {
  /** How long a dry-run machine takes to boot. */
  bootMs: number;
  /** Divides every lease wait, so a 15-minute lease can be watched in seconds. */
  clockSpeedup: number;
}

/**
 * A lease lifecycle with no cloud behind it: the machine becomes active with an address
 * from the documentation range (203.0.113.0/24) and is terminated when its lease ends.
 */
export class DryRunLeaseWorkflow implements LeaseWorkflow {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly started = new Set<string>();

  constructor(
    private readonly machines: MachineStore,
    private readonly lifecycle: LeaseLifecycleStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly timing: DryRunTiming,
  ) {}

  async start(machine: MachineRecord): Promise<void> {
    if (this.started.has(machine.machine_id)) return;
    this.started.add(machine.machine_id);
    this.log.info('lease.provisioning', {
      machine_id: machine.machine_id,
      product: machine.product_id,
    });
    this.schedule(machine.machine_id, this.timing.bootMs, () => this.activate(machine.machine_id));
  }

  async terminationRequested(machine: MachineRecord): Promise<void> {
    this.schedule(machine.machine_id, 0, () => this.terminate(machine.machine_id));
  }

  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(machineId: string, delayMs: number, step: () => Promise<void>) {
    clearTimeout(this.timers.get(machineId));
    const timer = setTimeout(
      () => {
        this.timers.delete(machineId);
        step().catch((error: unknown) =>
          this.log.error('lease.step_failed', { machine_id: machineId, error: String(error) }),
        );
      },
      Math.max(0, delayMs),
    );
    timer.unref();
    this.timers.set(machineId, timer);
  }

  private async activate(machineId: string) {
    const machine = await this.machines.get(machineId, this.clock.now());
    if (machine?.status !== 'provisioning') return this.terminate(machineId);
    const now = this.clock.now();
    const host = `203.0.113.${1 + (Number.parseInt(machineId.slice(-4), 16) % 254)}`;
    const active = await this.lifecycle.activate(machineId, {
      host,
      sshPort: 22,
      activatedAt: now.toISOString(),
      expiresAt: leaseEndFromActivation(machine, now),
    });
    if (!active) return this.terminate(machineId);
    this.log.info('lease.active', { machine_id: machineId, host, expires_at: active.expires_at });
    this.waitForLeaseEnd(active);
  }

  /** Sleeps until the lease end it knows of; an extension found on waking means sleeping on. */
  private waitForLeaseEnd(machine: MachineRecord, sleptUntil = this.clock.now().toISOString()) {
    const remainingMs = Date.parse(machine.expires_at) - Date.parse(sleptUntil);
    this.schedule(machine.machine_id, remainingMs / this.timing.clockSpeedup, async () => {
      const current = await this.machines.get(machine.machine_id, this.clock.now());
      if (current?.status === 'active' && current.expires_at > machine.expires_at) {
        return this.waitForLeaseEnd(current, machine.expires_at);
      }
      await this.terminate(machine.machine_id);
    });
  }

  private async terminate(machineId: string) {
    const terminated = await this.lifecycle.markTerminated(machineId, this.clock.now());
    if (terminated) this.log.info('lease.terminated', { machine_id: machineId });
  }
}
