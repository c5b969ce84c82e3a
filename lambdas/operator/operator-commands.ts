import { parseArgs } from 'node:util';
import { INSTANCE_TAGS } from '../adapters/ec2/instance-tags.js';
import type { FindingPolicy } from '../core/abuse-findings.js';
import { acceptableUseUrl } from '../core/acceptable-use.js';
import { BLOCK_KINDS, type BlockKind, blockValue, isInForce } from '../core/blocks.js';
import { CAUSE_REFUNDS, type CauseRefundMode } from '../core/end-for-cause.js';
import type {
  BlockStore,
  Clock,
  LeaseWorkflow,
  Logger,
  MachineStore,
  OrderStore,
} from '../core/ports.js';
import type { Catalog } from '../core/products.js';
import { actOnFinding } from '../core/use-cases/act-on-finding.js';
import { endLeaseForCause } from '../core/use-cases/end-lease-for-cause.js';
import type { BlockedRangesReport } from '../core/use-cases/sync-blocked-ranges.js';
import { simulatedFinding } from './simulated-finding.js';

/** What the operator command works on: the storefront's own stores, deployed or local. */
export interface OperatorContext {
  blocks: BlockStore;
  machines: MachineStore;
  orders: OrderStore;
  leases: Pick<LeaseWorkflow, 'terminationRequested'>;
  catalog: Catalog;
  /** The storefront's public URL (the policy's URL is named in failure reasons). */
  publicUrl: string;
  /** Who runs the command, recorded on every block and end. */
  operator: string;
  clock: Clock;
  log: Logger;
  /** The findings acted on (`storefront:abuseFindings` of this checkout's cdk.json). */
  findingPolicy: FindingPolicy;
  /**
   * Copies the client-range blocks in force into the front door's WAF IP sets (a deployed
   * stack only; its scheduled sync does the same every minute).
   */
  syncFrontDoor?: () => Promise<BlockedRangesReport>;
}

/** What became of the front door's IP sets after a client-range block or unblock. */
async function frontDoorAfter(context: OperatorContext): Promise<Record<string, unknown>> {
  if (!context.syncFrontDoor)
    return {
      synced: false,
      note: 'no front door IP sets here (local, or --table without --stack); on AWS the scheduled sync copies blocks within a minute',
    };
  try {
    return { synced: true, ...(await context.syncFrontDoor()) };
  } catch (error) {
    return {
      synced: false,
      error: error instanceof Error ? error.message : String(error),
      note: 'the block is in the table (the API refuses its orders); the scheduled sync retries every minute',
    };
  }
}

export const OPERATOR_USAGE = `npm run operator -- [where] <command>

where (one of):
  --local [--data-dir DIR]  the storefront \`npm start\` runs (reads DIR/endpoints.json; default .data)
  --stack NAME              a deployed stack (its TableName output; your AWS credentials and region)
  --table NAME --public-url URL   a deployed table named directly
  --by NAME                 who you are, recorded on blocks and ends (default: $USER)

commands:
  block ssh-key|client-range|payer VALUE --reason "…" [--expires ISO-8601 | --for-days N]
      ssh-key: a SHA256:… fingerprint (ssh-keygen -lf key.pub) or a public key line
      client-range: an IP address or CIDR range (as the front door's WAF sees the client);
        with --stack, the front door's WAF IP sets are synced at once (us-east-1)
      payer: a payment method's payer identity (recorded; no accepted method exposes one yet)
  unblock ssh-key|client-range|payer VALUE
  blocks                    the blocks in force (and expired ones not yet removed by TTL)
  end MACHINE_ID --reason "…" --refund none|unused|full
      ends the lease for cause through its workflow; the refund is paid by the payment sweeper
  finding MACHINE_ID [--type CryptoCurrency:EC2/BitcoinTool.B!DNS] [--severity 8]
      (local) sends a simulated GuardDuty finding about the lease's instance: the lease ends
      for cause (unused minutes refunded) and its SSH key is blocked, as on AWS
`;

const KIND_NAMES: Record<string, BlockKind> = {
  'ssh-key': 'ssh_key',
  'client-range': 'client_range',
  payer: 'payer',
};

export class UsageError extends Error {
  override name = 'UsageError';
}

function kindOf(name: string | undefined): BlockKind {
  const kind =
    name === undefined
      ? undefined
      : (KIND_NAMES[name] ??
        ((BLOCK_KINDS as readonly string[]).includes(name) ? (name as BlockKind) : undefined));
  if (!kind)
    throw new UsageError(`expected ssh-key, client-range or payer, got ${name ?? 'nothing'}`);
  return kind;
}

function blockedValue(kind: BlockKind, input: string | undefined): string {
  if (!input) throw new UsageError('which value? (a fingerprint, a CIDR range or a payer)');
  const value = blockValue(kind, input);
  if (!value.ok) throw new UsageError(value.reason);
  return value.value;
}

/** Runs one operator command; returns what it printed (JSON lines). */
export async function runOperatorCommand(
  context: OperatorContext,
  argv: readonly string[],
): Promise<string[]> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      reason: { type: 'string' },
      expires: { type: 'string' },
      'for-days': { type: 'string' },
      refund: { type: 'string' },
      type: { type: 'string' },
      severity: { type: 'string' },
    },
    allowPositionals: true,
  });
  const [command, ...rest] = positionals;
  const now = context.clock.now();
  switch (command) {
    case 'block': {
      const kind = kindOf(rest[0]);
      const value = blockedValue(kind, rest[1]);
      const reason = values.reason?.trim();
      if (!reason) throw new UsageError('block needs --reason "…" (the buyer reads it)');
      const expires =
        values.expires ??
        (values['for-days'] !== undefined
          ? new Date(now.getTime() + Number(values['for-days']) * 86_400_000).toISOString()
          : undefined);
      if (expires !== undefined && !(Date.parse(expires) > now.getTime()))
        throw new UsageError(`--expires must be a time in the future, got ${expires}`);
      const block = {
        kind,
        value,
        reason,
        blocked_by: context.operator,
        blocked_at: now.toISOString(),
        ...(expires ? { expires_at: new Date(expires).toISOString() } : {}),
      };
      await context.blocks.put(block);
      context.log.info('operator.blocked', { ...block });
      return [
        JSON.stringify({
          blocked: block,
          ...(kind === 'client_range' ? { front_door: await frontDoorAfter(context) } : {}),
        }),
      ];
    }
    case 'unblock': {
      const kind = kindOf(rest[0]);
      const value = blockedValue(kind, rest[1]);
      const removed = await context.blocks.remove(kind, value);
      context.log.info('operator.unblocked', { kind, value, removed, by: context.operator });
      return [
        JSON.stringify({
          unblocked: { kind, value },
          existed: removed,
          ...(kind === 'client_range' ? { front_door: await frontDoorAfter(context) } : {}),
        }),
      ];
    }
    case 'blocks': {
      const blocks = await context.blocks.list();
      return blocks.map((block) => JSON.stringify({ ...block, in_force: isInForce(block, now) }));
    }
    case 'end': {
      const machineId = rest[0];
      if (!machineId || !/^machine_[0-9a-f]{16}$/.test(machineId))
        throw new UsageError('end needs a machine id (machine_ + 16 hex digits)');
      const reason = values.reason?.trim();
      if (!reason) throw new UsageError('end needs --reason "…" (the agent reads it)');
      const refund = values.refund as CauseRefundMode | undefined;
      if (!refund || !(CAUSE_REFUNDS as readonly string[]).includes(refund))
        throw new UsageError('end needs --refund none|unused|full');
      const outcome = await endLeaseForCause(
        { ...context, policyUrl: acceptableUseUrl(context.publicUrl) },
        machineId,
        { reason, refund, by: context.operator },
      );
      switch (outcome.kind) {
        case 'not_found':
          throw new Error(`no machine ${machineId} in this table`);
        case 'not_live':
          return [
            JSON.stringify({
              machine_id: machineId,
              status: outcome.machine.status,
              note: 'not live: nothing to end',
            }),
          ];
        case 'already_ended':
          return [
            JSON.stringify({
              machine_id: machineId,
              status: outcome.machine.status,
              note: 'ended for cause before; that decision and its refund stand (workflow woken again)',
              end_cause: outcome.machine.end_cause,
            }),
          ];
        case 'ended':
          return [
            JSON.stringify({
              machine_id: machineId,
              status: outcome.machine.status,
              failure_reason: outcome.machine.failure_reason,
              refund: refund,
              refund_cents: Object.values(outcome.refunds).reduce(
                (sum, share) => sum + share.amount_cents,
                0,
              ),
              note: 'the workflow terminates the instance; the payment sweeper pays the refund',
            }),
          ];
      }
      break;
    }
    case 'finding': {
      // A simulated GuardDuty finding about the lease's instance, acted on by the same use case
      // the finding function runs on AWS (the local storefront has no GuardDuty).
      const machineId = rest[0] ?? '';
      const machine = await context.machines.get(machineId, new Date(0));
      if (!machine?.instance_id)
        throw new Error(`no machine ${machineId} with an instance in this table`);
      const event = simulatedFinding({
        machineId,
        instanceId: machine.instance_id,
        ...(values.type ? { type: values.type } : {}),
        ...(values.severity ? { severity: Number(values.severity) } : {}),
        now,
      });
      const outcome = await actOnFinding(
        { ...context, policyUrl: acceptableUseUrl(context.publicUrl) },
        event,
        context.findingPolicy,
        INSTANCE_TAGS.machineId,
      );
      return [JSON.stringify({ finding: event.detail.id, type: event.detail.type, ...outcome })];
    }
    default:
      throw new UsageError(command ? `unknown command ${command}` : 'which command?');
  }
  return [];
}
