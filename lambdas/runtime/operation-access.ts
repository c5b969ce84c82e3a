import { KEY_PREFIX, type KeyPrefix } from '../adapters/dynamodb/table-design.js';

/**
 * What each API function may touch. The CDK stack grants exactly this (table actions
 * scoped to partition key prefixes, secrets, workflow actions) and the Lambda runtime
 * loads only the secrets listed here, so the two cannot drift apart.
 */
export type TableAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem';
export type SecretName = 'storefront';
export type WorkflowAction = 'start' | 'wake';

export interface OperationAccess {
  table?: { actions: TableAction[]; keyPrefixes: KeyPrefix[] };
  secrets: SecretName[];
  /**
   * Takes payments, so it holds the accepted methods' secrets and settings (each method's
   * module declares them); the other operations only describe the methods.
   */
  takesPayments?: true;
  workflow?: WorkflowAction[];
  /**
   * Refuses a sale the account cannot launch before any challenge: reads the capacity
   * watcher's snapshots (GetItem on `CAPACITY#` keys only, a statement of its own).
   */
  capacitySnapshots?: true;
  /**
   * Refuses blocked buyers before any challenge: reads block items (GetItem and Query on
   * `BLOCK#` keys only, a statement of its own; lambdas/core/blocks.ts), and buyers holding
   * their product's most live leases (Query of the live-leases index's `LIVE` partition).
   */
  blocks?: true;
  /**
   * Hands out absolute URLs (links, the URL a payment challenge is bound to): reads the
   * deployment's public URL from its parameter, never from the request's headers.
   */
  publicUrl?: true;
  /** Serves the operator's acceptable-use text (its environment holds it, when configured). */
  acceptableUsePolicy?: true;
  /** Reads instances' public addresses from EC2 (DescribeInstances: no resource-level scope). */
  instances?: true;
}

const { order, machine, replay } = KEY_PREFIX;

export const OPERATION_ACCESS: Readonly<Record<string, OperationAccess>> = {
  // Kept lean (no AWS SDK): its links are relative, as in the repository copy.
  getDiscoveryDocument: { secrets: [] },
  getServiceIndex: { secrets: [], publicUrl: true },
  getAgentGuide: { secrets: [], publicUrl: true },
  getAgentStorefront: { secrets: [], publicUrl: true },
  // Kept lean (no AWS SDK): the text is in its environment, its links relative.
  getAcceptableUse: { secrets: [], acceptableUsePolicy: true },
  listProducts: { secrets: [], capacitySnapshots: true },
  // Kept lean (no AWS SDK): availability is in GET /api/products.
  health: { secrets: [] },
  // The public URL: a refused buyer is pointed at the acceptable-use policy.
  validateOrder: { secrets: [], capacitySnapshots: true, blocks: true, publicUrl: true },
  createOrder: {
    table: {
      actions: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'],
      keyPrefixes: [order, machine, replay],
    },
    secrets: ['storefront'],
    takesPayments: true,
    workflow: ['start'],
    capacitySnapshots: true,
    blocks: true,
    publicUrl: true,
  },
  getOrder: {
    table: { actions: ['GetItem'], keyPrefixes: [order, machine] },
    secrets: [],
    publicUrl: true,
  },
  createMachine: {
    table: { actions: ['GetItem', 'PutItem', 'UpdateItem'], keyPrefixes: [order, machine] },
    secrets: ['storefront'],
    workflow: ['start'],
    capacitySnapshots: true,
    blocks: true,
    publicUrl: true,
  },
  getMachine: { table: { actions: ['GetItem'], keyPrefixes: [machine] }, secrets: [] },
  terminateMachine: {
    table: { actions: ['GetItem', 'UpdateItem'], keyPrefixes: [machine] },
    secrets: [],
    workflow: ['wake'],
  },
  extendMachine: {
    table: {
      actions: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'],
      keyPrefixes: [machine, replay],
    },
    secrets: ['storefront'],
    takesPayments: true,
    // Wakes the held workflow, which re-arms at the new end and moves the machine's lease tag.
    workflow: ['wake'],
    // No public URL: its answers carry no link, and mppx takes the realm from configuration.
  },
  // Called by the machine itself: activates its lease, then wakes the workflow waiting on it.
  reportMachineReady: {
    table: { actions: ['GetItem', 'UpdateItem'], keyPrefixes: [machine] },
    secrets: [],
    workflow: ['wake'],
    // The lease's host is the instance's address as EC2 reports it, not the caller's word.
    instances: true,
  },
};

/**
 * The payment sweeper (not an API operation): it settles, starts workflows and refunds, so
 * it holds the payment keys; it also queries the sweep index (granted by its construct).
 */
export const SWEEPER_ACCESS: OperationAccess = {
  table: { actions: ['GetItem', 'PutItem', 'UpdateItem'], keyPrefixes: [order, machine, replay] },
  secrets: ['storefront'],
  takesPayments: true,
  // It may apply a recovered extension, and wakes the lease's workflow as extendMachine does.
  workflow: ['start', 'wake'],
};
export const SWEEPER_OPERATION_ID = 'sweepPayments';

/** Table actions on items under key prefixes, one grant each (functions outside the API). */
export interface TableGrant {
  actions: readonly ('GetItem' | 'PutItem' | 'UpdateItem' | 'Query')[];
  keyPrefixes: readonly KeyPrefix[];
}

/**
 * The GuardDuty finding function (lambdas/abuse/act-on-finding.ts): reads the lease and its
 * order, ends the lease in one conditional write, blocks its key, wakes its workflow.
 */
export const FINDING_ACCESS = {
  table: [
    { actions: ['GetItem'], keyPrefixes: [order, machine] },
    { actions: ['UpdateItem'], keyPrefixes: [machine] },
    { actions: ['PutItem'], keyPrefixes: [KEY_PREFIX.block] },
  ] satisfies TableGrant[],
  workflow: ['wake'] satisfies WorkflowAction[],
};

/** The blocked-ranges sync (lambdas/abuse/sync-blocked-ranges.ts): reads the blocks only. */
export const BLOCKED_RANGES_ACCESS = {
  table: [{ actions: ['Query'], keyPrefixes: [KEY_PREFIX.block] }] satisfies TableGrant[],
};
