import { DeleteCommand, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { LeaseLifecycleStore } from '../../lambdas/adapters/dynamodb/lease-lifecycle-store.js';
import { DynamoMachineStore } from '../../lambdas/adapters/dynamodb/machine-store.js';
import { DynamoOrderStore } from '../../lambdas/adapters/dynamodb/order-store.js';
import { itemKeys } from '../../lambdas/adapters/dynamodb/table-design.js';
import { revealTokens } from '../../lambdas/core/capability-tokens.js';
import { DEFAULT_CATALOG } from '../../lambdas/core/catalog.js';
import { newMachineId } from '../../lambdas/core/ids.js';
import { deriveKeys } from '../../lambdas/core/keys.js';
import type { MachineRecord } from '../../lambdas/core/machine.js';
import type { PaymentAttempt, RefundRecord } from '../../lambdas/core/payment-records.js';
import type {
  AttemptRecovery,
  ChargeOutcome,
  ChargeTerms,
  LeaseWorkflow,
  PaymentGateway,
  PresentedCredential,
  RefundGateway,
} from '../../lambdas/core/ports.js';
import { DEFAULT_SETTINGS, type Storefront } from '../../lambdas/core/use-cases/storefront.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';
import { machineFixture } from './fixtures.js';
import { localTable } from './local-table.js';

/**
 * The money paths' use cases with their real stores on dynalite and scripted stand-ins for
 * everything that moves money or machines: each stand-in records what it was asked, so a test
 * asserts on the charges, refunds (amounts, idempotency keys) and workflow calls made, and on
 * the records stored, without a storefront process, HTTP or a state machine.
 */

/** A payment credential as mppx reads it from a request; distinct digests are distinct credentials. */
export const credential = (
  name: string,
  overrides: Partial<Extract<PresentedCredential, { kind: 'credential' }>> = {},
): Extract<PresentedCredential, { kind: 'credential' }> => ({
  kind: 'credential',
  challengeId: `challenge-${name}`,
  method: 'test',
  digest: `${name}-digest`.padEnd(64, '0'),
  ...overrides,
});

export type ChargeAnswer = ChargeOutcome | Error | 'paid';

/** A payment method that answers what each test scripts, and records every call. */
export class ScriptedPayments implements PaymentGateway {
  readonly methods = ['test/charge'];
  minimumChargeCents = 1;
  /** What the next requests present (the last one stays). */
  presented: PresentedCredential = { kind: 'none' };
  readonly credentialReads: { authorizationTaken: boolean | undefined }[] = [];
  readonly charges: ChargeTerms[] = [];
  readonly challenges: { terms: ChargeTerms; reason: string }[] = [];
  readonly recovered: PaymentAttempt[] = [];
  /** Answers to the next charges with a credential, in order; 'paid' (the default) takes the money. */
  readonly chargeAnswers: ChargeAnswer[] = [];
  /** What became of each attempt asked about, by attempt key (default: nothing was charged). */
  readonly recoveries = new Map<string, AttemptRecovery>();
  /** Runs while a charge is being made (to race another request inside it). */
  duringCharge?: () => Promise<void>;
  private paid = 0;

  readCredential(_request: Request, authorizationTaken?: boolean): PresentedCredential {
    this.credentialReads.push({ authorizationTaken });
    return this.presented;
  }

  async charge(_request: Request, terms: ChargeTerms): Promise<ChargeOutcome> {
    if (this.presented.kind === 'none') return this.refusal('no credential');
    this.charges.push(terms);
    await this.duringCharge?.();
    const answer = this.chargeAnswers.shift() ?? 'paid';
    if (answer instanceof Error) throw answer;
    if (answer !== 'paid') return answer;
    return { kind: 'paid', payment: this.payment() };
  }

  /** A payment as the method reports it: a fresh reference each time. */
  payment(): { method: string; reference: string; receipt_header: string } {
    this.paid++;
    return {
      method: 'test',
      reference: `pay_${this.paid}`,
      receipt_header: `receipt-${this.paid}`,
    };
  }

  async challenge(_request: Request, terms: ChargeTerms, reason: string) {
    this.challenges.push({ terms, reason });
    return this.refusal(reason);
  }

  async recover(attempt: PaymentAttempt): Promise<AttemptRecovery> {
    this.recovered.push(attempt);
    return this.recoveries.get(attempt.key) ?? { kind: 'not_charged' };
  }

  refusal(reason?: string, outcomeUnknown?: boolean): Extract<ChargeOutcome, { kind: 'refused' }> {
    return {
      kind: 'refused',
      status: 402,
      challengeHeaders: new Headers({ 'WWW-Authenticate': 'Payment id="x"' }),
      ...(reason ? { reason } : {}),
      ...(outcomeUnknown ? { outcomeUnknown } : {}),
    };
  }
}

export type RefundAnswer = 'refunded' | 'pending' | 'nothing' | Error;

/** A refund method that records each request and answers as scripted (default: refunded). */
export class RecordingRefunds implements RefundGateway {
  readonly calls: Parameters<RefundGateway['refund']>[0][] = [];
  readonly answers: RefundAnswer[] = [];
  /** The answer once the scripted ones are used up. */
  otherwise: RefundAnswer = 'refunded';

  async refund(input: Parameters<RefundGateway['refund']>[0]): Promise<RefundRecord | undefined> {
    this.calls.push(input);
    const answer = this.answers.shift() ?? this.otherwise;
    if (answer instanceof Error) throw answer;
    if (answer === 'nothing') return undefined;
    return {
      status: answer,
      amount_cents: input.amountCents,
      reference: `re_${this.calls.length}`,
      refunded_at: '2026-12-07T10:00:00.000Z',
    };
  }

  keys(): string[] {
    return this.calls.map((call) => call.idempotencyKey);
  }
}

/** The lease workflow as the use cases see it: every call recorded, any of them made to fail. */
export class RecordingLeases implements LeaseWorkflow {
  readonly started: string[] = [];
  readonly extended: MachineRecord[] = [];
  readonly terminations: string[] = [];
  failExtensionWake?: Error;
  failStart?: Error;

  async start(machine: MachineRecord) {
    if (this.failStart) throw this.failStart;
    this.started.push(machine.machine_id);
  }
  async terminationRequested(machine: MachineRecord) {
    this.terminations.push(machine.machine_id);
  }
  async extensionApplied(machine: MachineRecord) {
    this.extended.push(machine);
    if (this.failExtensionWake) throw this.failExtensionWake;
  }
  async readinessReported() {}
}

export const START = new Date('2026-12-07T10:00:00.000Z');

/** A clock the test moves by hand. */
export function handClock(start = START) {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
    set(at: Date) {
      now = at.getTime();
    },
  };
}

export interface MoneyWorld {
  storefront: Storefront;
  orders: DynamoOrderStore;
  machines: DynamoMachineStore;
  lifecycle: LeaseLifecycleStore;
  payments: ScriptedPayments;
  refunds: RecordingRefunds;
  leases: RecordingLeases;
  clock: ReturnType<typeof handClock>;
  log: ReturnType<typeof memoryLogger>;
  /** The machine's extend token, as its agent holds it. */
  extendToken(machine: MachineRecord): string;
  /** Stores a paid machine, active for `leaseMinutes` from the clock's now (fields overridden). */
  activeMachine(overrides?: Partial<MachineRecord>): Promise<MachineRecord>;
  /** The machine's item as stored, with the fields the records leave out (locks, sweep keys). */
  machineItem(machineId: string): Promise<Record<string, unknown>>;
  /** The order's item as stored. */
  orderItem(orderId: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** One table per test file; call `fresh()` per test for new stand-ins over the same table. */
export async function moneyTable() {
  const table = await localTable();
  const keys = deriveKeys('k'.repeat(40));
  const item = async (key: Record<string, string>) => {
    const { Item } = await table.db.send(
      new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }),
    );
    if (!Item) throw new Error(`no item ${JSON.stringify(key)}`);
    return Item;
  };
  return {
    table,
    keys,
    /** New stand-ins, a new clock and a new log over the file's table. */
    fresh(): MoneyWorld {
      const orders = new DynamoOrderStore(table.db, table.tableName);
      const machines = new DynamoMachineStore(table.db, table.tableName);
      const lifecycle = new LeaseLifecycleStore(table.db, table.tableName, 30);
      const payments = new ScriptedPayments();
      const refunds = new RecordingRefunds();
      const leases = new RecordingLeases();
      const clock = handClock();
      const log = memoryLogger();
      const storefront: Storefront = {
        settings: {
          ...DEFAULT_SETTINGS,
          catalog: DEFAULT_CATALOG,
          keys,
          provider: 'aws-ec2',
          provisioningTimeoutMinutes: 15,
          retentionDays: 30,
        },
        orders,
        machines,
        leases,
        payments,
        refunds,
        capacity: { check: async () => ({ available: true, checked: [] }) },
        blocks: {
          candidatesFor: async () => [],
          put: async () => {},
          remove: async () => false,
          list: async () => [],
        },
        liveLeasesOfKey: async () => [],
        instances: { publicAddress: async () => undefined },
        clock,
        log,
      };
      return {
        storefront,
        orders,
        machines,
        lifecycle,
        payments,
        refunds,
        leases,
        clock,
        log,
        extendToken(machine) {
          const token = revealTokens(keys.capabilityTokenKey, machine.machine_id, machine);
          if (!token) throw new Error(`no tokens for ${machine.machine_id}`);
          return token.extend_token;
        },
        async activeMachine(overrides = {}) {
          const now = clock.now();
          const machine = machineFixture(
            { machineId: newMachineId(), now, tokenKey: keys.capabilityTokenKey },
            {
              status: 'active',
              host: '203.0.113.9',
              activated_at: now.toISOString(),
              expires_at: new Date(now.getTime() + 60 * 60_000).toISOString(),
              ...overrides,
            },
          );
          return machines.create(machine);
        },
        machineItem: (machineId) => item(itemKeys.machine(machineId)),
        orderItem: (orderId) => item(itemKeys.order(orderId)),
        close: () => table.close(),
      };
    },
    /** Deletes every item, for tests of code that reads the whole sweep index. */
    async empty() {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await table.db.send(
          new ScanCommand({ TableName: table.tableName, ExclusiveStartKey: startKey }),
        );
        for (const stored of page.Items ?? []) {
          await table.db.send(
            new DeleteCommand({
              TableName: table.tableName,
              Key: { pk: stored.pk, sk: stored.sk },
            }),
          );
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    },
    close: () => table.close(),
  };
}
