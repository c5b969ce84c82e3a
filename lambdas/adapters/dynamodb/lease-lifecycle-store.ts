import type { MachineRecord } from '../../core/machine.js';
import { type DocumentDb, updateRecord } from './document-client.js';
import { itemKeys, liveLeaseKey } from './table-design.js';

/**
 * The lease transitions the workflow performs. Each is one conditional update, so a
 * transition that lost a race (an agent's DELETE during provisioning, say) is refused
 * instead of undoing it.
 */
export class LeaseLifecycleStore {
  constructor(
    private readonly db: DocumentDb,
    private readonly tableName: string,
    /** How long an ended lease stays readable. */
    private readonly retentionDays: number,
  ) {}

  private update(
    machineId: string,
    input: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<MachineRecord | undefined> {
    return updateRecord<MachineRecord>(this.db, {
      TableName: this.tableName,
      Key: itemKeys.machine(machineId),
      ...input,
      ExpressionAttributeNames: { '#status': 'status' },
    });
  }

  private retentionEpoch(now: Date): number {
    return Math.floor(now.getTime() / 1000) + this.retentionDays * 86_400;
  }

  /**
   * Remembers the instance (so an early termination can find it) and, in the same write, the
   * token of the workflow's wait for the ready callback and the hash of the machine's
   * readiness secret; only while provisioning. A relaunch that found the instance already
   * recorded keeps the stored hash (the instance's user data holds that secret).
   */
  recordLaunch(
    machineId: string,
    launch: {
      instanceId: string;
      hardStopAt?: string;
      readySecretHash?: string;
      waitToken?: string;
    },
  ) {
    const sets = ['instance_id = :instance'];
    const values: Record<string, unknown> = {
      ':instance': launch.instanceId,
      ':provisioning': 'provisioning',
    };
    const set = (attribute: string, value: string | undefined) => {
      if (value === undefined) return;
      sets.push(`${attribute} = :${attribute}`);
      values[`:${attribute}`] = value;
    };
    set('hard_stop_at', launch.hardStopAt);
    set('ready_secret_hash', launch.readySecretHash);
    set('wake_token', launch.waitToken);
    return this.update(machineId, {
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: '#status = :provisioning',
      ExpressionAttributeValues: values,
    });
  }

  /**
   * provisioning → active: the lease clock starts now. `leaseMinutes` are those `expiresAt`
   * was computed from: an extension paid meanwhile changes them and refuses the write.
   */
  activate(
    machineId: string,
    change: {
      host: string;
      sshPort: number;
      activatedAt: string;
      expiresAt: string;
      leaseMinutes: number;
    },
  ) {
    return this.update(machineId, {
      UpdateExpression:
        'SET #status = :active, host = :host, ssh_port = :port, activated_at = :at, expires_at = :expires, live_sk = :liveSk',
      ConditionExpression: '#status = :provisioning AND lease_minutes = :minutes',
      ExpressionAttributeValues: {
        ':active': 'active',
        ':provisioning': 'provisioning',
        ':minutes': change.leaseMinutes,
        ':host': change.host,
        ':port': change.sshPort,
        ':at': change.activatedAt,
        ':expires': change.expiresAt,
        ':liveSk': liveLeaseKey(change.expiresAt, machineId).live_sk,
      },
    });
  }

  /**
   * active → terminating, only once the lease's end has come: an extension applied since the
   * lease was found due moved `expires_at` past `now`, and is honoured (undefined: not closed).
   * No extension applies after this write.
   */
  markTerminating(machineId: string, now: Date) {
    return this.update(machineId, {
      UpdateExpression: 'SET #status = :terminating, termination_requested_at = :now',
      ConditionExpression: '#status = :active AND expires_at <= :now',
      ExpressionAttributeValues: {
        ':terminating': 'terminating',
        ':active': 'active',
        ':now': now.toISOString(),
      },
    });
  }

  /** Stores the token that wakes the workflow early; only while the lease is active. */
  holdWakeToken(machineId: string, token: string) {
    return this.update(machineId, {
      UpdateExpression: 'SET wake_token = :token',
      ConditionExpression: '#status = :active',
      ExpressionAttributeValues: { ':token': token, ':active': 'active' },
    });
  }

  /** Any live status → terminated; the record stays readable for the retention period. */
  markTerminated(machineId: string, now: Date) {
    return this.update(machineId, {
      UpdateExpression:
        'SET #status = :terminated, terminated_at = :now, expires_at_epoch = :retention REMOVE live_pk, live_sk, key_live_pk, key_live_sk, wake_token',
      ConditionExpression: '#status IN (:provisioning, :active, :terminating)',
      ExpressionAttributeValues: {
        ':terminated': 'terminated',
        ':provisioning': 'provisioning',
        ':active': 'active',
        ':terminating': 'terminating',
        ':now': now.toISOString(),
        ':retention': this.retentionEpoch(now),
      },
    });
  }

  /**
   * provisioning → failed, with a reason the agent can read. The agent never got a usable
   * machine, so the same write marks the payment as owed back (`refund_due`): whatever
   * crashes after this point, the debt is on the record until a refund clears it.
   * `alsoActive`: the workflow gave up on a machine that its ready callback activated in the
   * meantime (the workflow never held it, and it goes on to terminate it), so it fails too.
   */
  markFailed(machineId: string, reason: string, now: Date, alsoActive = false) {
    return this.update(machineId, {
      UpdateExpression:
        'SET #status = :failed, failure_reason = :reason, terminated_at = :now, expires_at_epoch = :retention, refund_due = :due REMOVE live_pk, live_sk, key_live_pk, key_live_sk, wake_token',
      ConditionExpression: alsoActive
        ? '#status IN (:provisioning, :active)'
        : '#status = :provisioning',
      ExpressionAttributeValues: {
        ':failed': 'failed',
        ':provisioning': 'provisioning',
        ...(alsoActive ? { ':active': 'active' } : {}),
        ':reason': reason,
        ':now': now.toISOString(),
        ':retention': this.retentionEpoch(now),
        ':due': true,
      },
    });
  }

  /** The failed lease's payments are all refunded (or there were none): nothing is owed. */
  settleRefund(machineId: string) {
    return this.update(machineId, {
      UpdateExpression: 'REMOVE refund_due, refund_error',
      ConditionExpression: '#status = :failed',
      ExpressionAttributeValues: { ':failed': 'failed' },
    });
  }

  /** A refund attempt failed: the debt stays (`refund_due`), with the last error beside it. */
  recordRefundError(machineId: string, error: string) {
    return this.update(machineId, {
      UpdateExpression: 'SET refund_error = :error',
      ConditionExpression: '#status = :failed AND attribute_exists(refund_due)',
      ExpressionAttributeValues: { ':error': error, ':failed': 'failed' },
    });
  }

  /**
   * provisioning or active → failed: the machine itself is gone (the local storefront's
   * simulated fleet lost it), so the lease can neither go on nor end normally.
   */
  markLost(machineId: string, reason: string, now: Date) {
    return this.markFailed(machineId, reason, now, true);
  }
}
