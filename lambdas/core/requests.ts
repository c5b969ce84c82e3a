import { createHash } from 'node:crypto';
import * as z from 'zod';
import { invalidRequest } from './errors.js';
import { type Catalog, PRODUCT_IDS, type ProductId } from './products.js';
import { checkSshPublicKey } from './ssh-public-key.js';

/** The contract's UUID pattern (any version, either case); ids are lower-cased once parsed. */
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const requiredOr = (field: string, rule: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? `${field} is required` : `${field} ${rule}`;

/**
 * A random UUID (v4) has 122 random bits, so all but a vanishing share of them use many
 * different hex digits; the nil UUID, all-one-digit ids and their kin use a handful.
 */
const MIN_DISTINCT_HEX_DIGITS = 6;

/**
 * request_id is a secret: with it and the order body (whose other fields are public or
 * guessable) anyone can resend the order and re-read its tokens. An id someone else could
 * guess is refused, so no agent relies on one.
 */
export function isGuessableRequestId(uuid: string): boolean {
  const digits = new Set(uuid.toLowerCase().replaceAll('-', ''));
  return digits.size < MIN_DISTINCT_HEX_DIGITS;
}

const requestIdField = z
  .string({ error: requiredOr('request_id', 'must be a string holding a UUID') })
  .regex(UUID, { error: 'request_id must be a UUID such as 3f0c1a52-8d4e-4b1a-9c57-2b8e6f1d0a93' })
  .refine((value) => !isGuessableRequestId(value), {
    error:
      'request_id must be a random UUID (crypto.randomUUID()) kept private: it is the secret that re-reads the order, and this one can be guessed',
  })
  .transform((value) => value.toLowerCase());

const rawCreateMachineRequest = z.strictObject(
  {
    request_id: requestIdField,
    product_id: z.enum(PRODUCT_IDS, {
      error: requiredOr('product_id', `must be one of ${PRODUCT_IDS.join(', ')}`),
    }),
    duration_minutes: z
      .number({ error: requiredOr('duration_minutes', 'must be an integer number of minutes') })
      .int({ error: 'duration_minutes must be an integer number of minutes' }),
    ssh_public_key: z.string({
      error: requiredOr('ssh_public_key', 'must be a string holding one OpenSSH public key'),
    }),
  },
  { error: 'request body must be a JSON object' },
);

export interface CreateMachineRequest {
  request_id: string;
  product_id: ProductId;
  duration_minutes: number;
  ssh_public_key: string;
}

export interface ExtendMachineRequest {
  additional_minutes: number;
  request_id?: string;
}

const rawExtendRequest = z.strictObject(
  {
    additional_minutes: z
      .number({
        error: requiredOr('additional_minutes', 'must be a positive integer number of minutes'),
      })
      .int({ error: 'additional_minutes must be a positive integer number of minutes' })
      .min(1, { error: 'additional_minutes must be at least 1' }),
    request_id: requestIdField.optional(),
  },
  { error: 'request body must be a JSON object' },
);

function firstProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'request body is invalid';
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => `"${key}"`).join(', ');
    return `request body has unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}`;
  }
  return issue.message;
}

/** Parses and checks an order body; throws a 400 problem naming the field and the rule. */
export function parseCreateMachineRequest(body: unknown, catalog: Catalog): CreateMachineRequest {
  const parsed = rawCreateMachineRequest.safeParse(body);
  if (!parsed.success) throw invalidRequest(firstProblem(parsed.error));
  const request = parsed.data;
  const product = catalog[request.product_id];
  if (
    request.duration_minutes < product.minMinutes ||
    request.duration_minutes > product.maxMinutes
  ) {
    throw invalidRequest(
      `duration_minutes must be between ${product.minMinutes} and ${product.maxMinutes} for ${product.id}`,
    );
  }
  const key = checkSshPublicKey(request.ssh_public_key);
  if (!key.ok) throw invalidRequest(`ssh_public_key ${key.reason}`);
  return { ...request, ssh_public_key: key.key };
}

export function parseExtendMachineRequest(body: unknown): ExtendMachineRequest {
  const parsed = rawExtendRequest.safeParse(body);
  if (!parsed.success) throw invalidRequest(firstProblem(parsed.error));
  return parsed.data;
}

/**
 * The machine's ready report says only "ready". `host` is still accepted (boot scripts of
 * machines launched before this storefront version send it) and then ignored: the lease's
 * address is the instance's own, as EC2 reports it.
 */
export interface MachineReadyRequest {
  host?: string;
}

const IPV4 =
  /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;

const rawMachineReadyRequest = z.strictObject(
  {
    host: z
      .string({
        error: requiredOr('host', "must be a string holding the machine's public IPv4 address"),
      })
      .regex(IPV4, {
        error: "host must be the machine's public IPv4 address, such as 203.0.113.7",
      })
      .optional(),
  },
  { error: 'request body must be a JSON object' },
);

/** The machine's own ready report (POST /api/machines/{machine_id}/ready). */
export function parseMachineReadyRequest(body: unknown): MachineReadyRequest {
  const parsed = rawMachineReadyRequest.safeParse(body);
  if (!parsed.success) throw invalidRequest(firstProblem(parsed.error));
  return parsed.data;
}

/**
 * The fingerprint of what was ordered. A retry must match it exactly; keys are in a
 * fixed order so the same order always hashes the same way.
 */
export function orderFingerprint(request: CreateMachineRequest): string {
  const canonical = JSON.stringify([
    request.request_id,
    request.product_id,
    request.duration_minutes,
    request.ssh_public_key,
  ]);
  return createHash('sha256').update(canonical).digest('base64url');
}
