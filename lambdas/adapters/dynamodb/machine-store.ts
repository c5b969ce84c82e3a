import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { sshKeyFingerprint } from '../../core/blocks.js';
import type {
  CauseRefund,
  ExtensionRecord,
  LeaseEndCause,
  MachineRecord,
  UnusedMinutesRefund,
} from '../../core/machine.js';
import type { PaymentAttempt, RefundRecord } from '../../core/payment-records.js';
import type { MachineStore } from '../../core/ports.js';
import { conditionally, type DocumentDb, recordOf, updateRecord } from './document-client.js';
import { type ItemLock, releaseItemLock } from './item-lock.js';
import { dueForSweep } from './sweep-queue.js';
import { itemKeys, KEY_PREFIX, liveKeyLeaseKey, liveLeaseKey, sweepKey } from './table-design.js';

/** A machine as stored, without the empty maps every machine carries. */
function machineOf(item: Record<string, unknown>): MachineRecord {
  const { extensions, extension_attempts, ...machine } = recordOf<MachineRecord>(item);
  return {
    ...machine,
    ...(extensions && Object.keys(extensions).length ? { extensions } : {}),
    ...(extension_attempts && Object.keys(extension_attempts).length ? { extension_attempts } : {}),
  };
}

const sweepValues = (checkAt: string, machineId: string) => {
  const keys = sweepKey(checkAt, itemKeys.machine(machineId).pk);
  return { ':sweepPk': keys.sweep_pk, ':sweepSk': keys.sweep_sk };
};

const isGone = (item: Record<string, unknown>, now: Date) =>
  typeof item.expires_at_epoch === 'number' && item.expires_at_epoch * 1000 <= now.getTime();

export class DynamoMachineStore implements MachineStore {
  constructor(
    private readonly db: DocumentDb,
    private readonly tableName: string,
  ) {}

  async get(machineId: string, now: Date): Promise<MachineRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: itemKeys.machine(machineId),
        ConsistentRead: true,
      }),
    );
    if (!Item || isGone(Item, now)) return undefined;
    return machineOf(Item);
  }

  async create(machine: MachineRecord): Promise<MachineRecord> {
    const created = await conditionally(() =>
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...itemKeys.machine(machine.machine_id),
            kind: 'machine',
            ...machine,
            // Present from the start, so an extension is recorded with one nested SET.
            extensions: machine.extensions ?? {},
            extension_attempts: machine.extension_attempts ?? {},
            ...liveLeaseKey(machine.expires_at, machine.machine_id),
            ...liveKeyLeaseKey(sshKeyFingerprint(machine.ssh_public_key), machine.machine_id),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    if (created) return machine;
    const existing = await this.get(machine.machine_id, new Date(0));
    if (!existing) throw new Error(`machine ${machine.machine_id} neither created nor found`);
    return existing;
  }

  async applyExtension(
    machineId: string,
    plan: { leaseMinutesBefore: number; leaseMinutes: number; expiresAt: string },
    extension: ExtensionRecord,
    concludedAttempt?: string,
  ): Promise<MachineRecord | undefined> {
    const item = await updateRecord<Record<string, unknown>>(this.db, {
      TableName: this.tableName,
      Key: itemKeys.machine(machineId),
      UpdateExpression: `SET lease_minutes = :minutes, expires_at = :expires, live_sk = :liveSk, extensions.#key = :extension${
        concludedAttempt ? ' REMOVE extension_attempts.#attempt' : ''
      }`,
      ConditionExpression:
        'lease_minutes = :before AND #status IN (:provisioning, :active) AND attribute_not_exists(extensions.#key)',
      ExpressionAttributeNames: {
        '#status': 'status',
        '#key': extension.extension_key,
        ...(concludedAttempt ? { '#attempt': concludedAttempt } : {}),
      },
      ExpressionAttributeValues: {
        ':minutes': plan.leaseMinutes,
        ':before': plan.leaseMinutesBefore,
        ':expires': plan.expiresAt,
        ':liveSk': liveLeaseKey(plan.expiresAt, machineId).live_sk,
        ':provisioning': 'provisioning',
        ':active': 'active',
        ':extension': extension,
      },
    });
    return item ? machineOf(item) : undefined;
  }

  recordUnappliedExtension(
    extension: ExtensionRecord,
    checkAt: string,
    concludedAttempt?: string,
  ): Promise<boolean> {
    return conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.machine(extension.machine_id),
          UpdateExpression: `SET extensions.#key = :extension, sweep_pk = :sweepPk, sweep_sk = :sweepSk${
            concludedAttempt ? ' REMOVE extension_attempts.#attempt' : ''
          }`,
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(extensions.#key)',
          ExpressionAttributeNames: {
            '#key': extension.extension_key,
            ...(concludedAttempt ? { '#attempt': concludedAttempt } : {}),
          },
          ExpressionAttributeValues: {
            ':extension': extension,
            ...sweepValues(checkAt, extension.machine_id),
          },
        }),
      ),
    );
  }

  activateOnReadiness(
    machineId: string,
    change: {
      host: string;
      readySecretHash: string;
      activatedAt: string;
      expiresAt: string;
      /** The lease minutes `expiresAt` was computed from: an extension paid meanwhile refuses the write. */
      leaseMinutes: number;
    },
  ): Promise<MachineRecord | undefined> {
    return updateRecord<MachineRecord>(this.db, {
      TableName: this.tableName,
      Key: itemKeys.machine(machineId),
      UpdateExpression:
        'SET #status = :active, host = :host, activated_at = :at, expires_at = :expires, live_sk = :liveSk',
      ConditionExpression:
        '#status = :provisioning AND ready_secret_hash = :hash AND lease_minutes = :minutes',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':active': 'active',
        ':provisioning': 'provisioning',
        ':host': change.host,
        ':hash': change.readySecretHash,
        ':minutes': change.leaseMinutes,
        ':at': change.activatedAt,
        ':expires': change.expiresAt,
        ':liveSk': liveLeaseKey(change.expiresAt, machineId).live_sk,
      },
    });
  }

  requestTermination(
    machineId: string,
    now: Date,
    refund?: {
      basis: Pick<MachineRecord, 'status' | 'lease_minutes' | 'expires_at'>;
      owed: UnusedMinutesRefund;
      checkAt: string;
    },
  ): Promise<MachineRecord | undefined> {
    return updateRecord<MachineRecord>(this.db, {
      TableName: this.tableName,
      Key: itemKeys.machine(machineId),
      UpdateExpression: `SET #status = :terminating, termination_requested_at = :now${
        refund ? ', unused_refund = :owed, sweep_pk = :sweepPk, sweep_sk = :sweepSk' : ''
      }`,
      ConditionExpression: refund
        ? '#status = :basisStatus AND lease_minutes = :basisMinutes AND expires_at = :basisEnd AND attribute_not_exists(unused_refund)'
        : '#status IN (:provisioning, :active)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':terminating': 'terminating',
        ':now': now.toISOString(),
        ...(refund
          ? {
              ':basisStatus': refund.basis.status,
              ':basisMinutes': refund.basis.lease_minutes,
              ':basisEnd': refund.basis.expires_at,
              ':owed': refund.owed,
              ...sweepValues(refund.checkAt, machineId),
            }
          : { ':provisioning': 'provisioning', ':active': 'active' }),
      },
    });
  }

  recordUnusedRefund(machineId: string, refund: RefundRecord): Promise<boolean> {
    return conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.machine(machineId),
          UpdateExpression: 'SET unused_refund.refund = :refund',
          ConditionExpression:
            'attribute_exists(unused_refund) AND (attribute_not_exists(unused_refund.refund) OR unused_refund.refund.#status = :pending)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':refund': refund, ':pending': 'pending' },
        }),
      ),
    );
  }

  private extensionLock(machineId: string): ItemLock {
    return {
      db: this.db,
      tableName: this.tableName,
      key: itemKeys.machine(machineId),
      name: 'extension',
    };
  }

  async lockForExtension(
    machineId: string,
    owner: string,
    until: Date,
    now: Date,
    attempt?: PaymentAttempt,
  ): Promise<MachineRecord | undefined> {
    const item = await updateRecord<Record<string, unknown>>(this.db, {
      TableName: this.tableName,
      Key: itemKeys.machine(machineId),
      UpdateExpression: `SET extension_lock_owner = :owner, extension_lock_until = :until${
        attempt
          ? ', extension_attempts.#attempt = if_not_exists(extension_attempts.#attempt, :attempt), sweep_pk = :sweepPk, sweep_sk = :sweepSk'
          : ''
      }`,
      ConditionExpression:
        'attribute_exists(pk) AND (attribute_not_exists(extension_lock_until) OR extension_lock_until < :now)',
      ...(attempt ? { ExpressionAttributeNames: { '#attempt': attempt.key } } : {}),
      ExpressionAttributeValues: {
        ':owner': owner,
        ':until': until.getTime(),
        ':now': now.getTime(),
        ...(attempt ? { ':attempt': attempt, ...sweepValues(until.toISOString(), machineId) } : {}),
      },
    });
    return item ? machineOf(item) : undefined;
  }

  async releaseExtensionLock(machineId: string, owner: string, attemptKey?: string) {
    if (!attemptKey) return releaseItemLock(this.extensionLock(machineId), owner);
    await this.removeAttempt(machineId, owner, attemptKey, true);
  }

  forgetExtensionAttempt(machineId: string, owner: string, attemptKey: string) {
    return this.removeAttempt(machineId, owner, attemptKey, false);
  }

  private async removeAttempt(
    machineId: string,
    owner: string,
    attemptKey: string,
    releaseLock: boolean,
  ) {
    await conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.machine(machineId),
          UpdateExpression: `REMOVE extension_attempts.#attempt${
            releaseLock ? ', extension_lock_owner, extension_lock_until' : ''
          }`,
          ConditionExpression: 'extension_lock_owner = :owner',
          ExpressionAttributeNames: { '#attempt': attemptKey },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      ),
    );
  }

  async getExtension(
    machineId: string,
    extensionKey: string,
  ): Promise<ExtensionRecord | undefined> {
    return (await this.get(machineId, new Date(0)))?.extensions?.[extensionKey];
  }

  async listExtensions(machineId: string): Promise<ExtensionRecord[]> {
    return Object.values((await this.get(machineId, new Date(0)))?.extensions ?? {});
  }

  recordExtensionRefund(
    machineId: string,
    extensionKey: string,
    refund: RefundRecord,
  ): Promise<boolean> {
    return conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.machine(machineId),
          UpdateExpression:
            'SET extensions.#key.refund = :refund REMOVE extensions.#key.refund_due',
          ConditionExpression:
            'attribute_exists(extensions.#key) AND (attribute_not_exists(extensions.#key.refund) OR extensions.#key.refund.#status = :pending)',
          ExpressionAttributeNames: { '#key': extensionKey, '#status': 'status' },
          ExpressionAttributeValues: { ':refund': refund, ':pending': 'pending' },
        }),
      ),
    );
  }

  endForCause(
    machineId: string,
    end: {
      cause: LeaseEndCause;
      failureReason: string;
      refunds: Record<string, CauseRefund>;
      now: Date;
    },
  ): Promise<MachineRecord | undefined> {
    const owesRefund = Object.keys(end.refunds).length > 0;
    return updateRecord<MachineRecord>(this.db, {
      TableName: this.tableName,
      Key: itemKeys.machine(machineId),
      UpdateExpression: `SET #status = :terminating, termination_requested_at = if_not_exists(termination_requested_at, :now), failure_reason = :reason, end_cause = :cause, cause_refunds = :refunds${
        owesRefund ? ', sweep_pk = :sweepPk, sweep_sk = :sweepSk' : ''
      }`,
      ConditionExpression:
        '#status IN (:provisioning, :active) AND attribute_not_exists(end_cause)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':terminating': 'terminating',
        ':provisioning': 'provisioning',
        ':active': 'active',
        ':now': end.now.toISOString(),
        ':reason': end.failureReason,
        ':cause': end.cause,
        ':refunds': end.refunds,
        ...(owesRefund ? sweepValues(end.now.toISOString(), machineId) : {}),
      },
    });
  }

  recordCauseRefund(machineId: string, key: string, refund: RefundRecord): Promise<boolean> {
    return conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.machine(machineId),
          UpdateExpression: 'SET cause_refunds.#key.refund = :refund',
          ConditionExpression:
            'attribute_exists(cause_refunds.#key) AND (attribute_not_exists(cause_refunds.#key.refund) OR cause_refunds.#key.refund.#status = :pending)',
          ExpressionAttributeNames: { '#key': key, '#status': 'status' },
          ExpressionAttributeValues: { ':refund': refund, ':pending': 'pending' },
        }),
      ),
    );
  }

  async dueForSweep(now: Date, limit: number): Promise<MachineRecord[]> {
    const machines: MachineRecord[] = [];
    for (const key of await dueForSweep(this.db, this.tableName, KEY_PREFIX.machine, now, limit)) {
      const { Item } = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      if (Item) machines.push(machineOf(Item));
    }
    return machines;
  }

  async scheduleSweep(machineId: string, checkAt: string): Promise<void> {
    await conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.machine(machineId),
          UpdateExpression: 'SET sweep_pk = :sweepPk, sweep_sk = :sweepSk',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: sweepValues(checkAt, machineId),
        }),
      ),
    );
  }

  async closeSweep(machineId: string): Promise<void> {
    await conditionally(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.machine(machineId),
          UpdateExpression: 'REMOVE sweep_pk, sweep_sk',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(extension_attempts) OR size(extension_attempts) = :none)',
          ExpressionAttributeValues: { ':none': 0 },
        }),
      ),
    );
  }
}
