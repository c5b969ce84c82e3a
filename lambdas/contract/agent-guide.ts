import { acceptableUseUrl } from '../core/acceptable-use.js';
import { PRICE_FORMULA, productTerms } from '../core/price-list.js';
import { type Catalog, PRODUCT_IDS } from '../core/products.js';
import { loadOpenApiDocument, operationsOf } from './openapi-document.js';

export interface AgentGuideInput {
  baseUrl: string;
  catalog: Catalog;
  /** `name/intent` of each accepted payment method. */
  methods: readonly string[];
  /** POST /api/machines (no payment) is off unless the operator allows it. */
  allowUnpaidCreate: boolean;
  /** Early termination refunds unused whole minutes. */
  refundUnusedMinutes: boolean;
}

const ORDER_BODY = (productId: string, minutes: number) =>
  `{"request_id":"<crypto.randomUUID()>","product_id":"${productId}","duration_minutes":${minutes},"ssh_public_key":"ssh-ed25519 AAAA… you@host"}`;

function productLines({ catalog }: AgentGuideInput): string[] {
  return PRODUCT_IDS.map((id) => {
    const product = catalog[id];
    const price = productTerms(product);
    return `- \`${id}\`: ${product.title}. ${product.baseFeeCents}¢ + ${product.centsPerMinute}¢ per minute, ${product.minMinutes}–${product.maxMinutes} minutes ($${price.min_amount}–$${price.max_amount}); log in as \`${product.username}\`.`;
  });
}

/** The `test` method, paid by hand: mppx's credential is base64url JSON of {challenge, payload}. */
const TEST_CREDENTIAL_RECIPE = [
  '### Paying with the `test` method without an SDK (no money moves)',
  '',
  '1. In `WWW-Authenticate`, take the `Payment` challenge with `method="test"` and read every parameter it carries as a string: `id`, `realm`, `method`, `intent`, `request`, `description`, `expires`, `opaque`, and on extension challenges `header` (`header="Payment-Authorization"`, the header the credential must travel in). Echo all those present, none added: the challenge `id` is an HMAC over them. Unescape the quoted strings; keep `request` and `opaque` as the base64url text they are.',
  '2. Build the JSON `{"challenge":{…those parameters…},"payload":{"outcome":"paid"}}` (whitespace and key order do not matter: the `id` is checked against the values).',
  '3. Send `Authorization: Payment <that JSON in base64url, without padding>` with the identical body (`Payment-Authorization` for an extension). `{"outcome":"declined"}` tries a refusal.',
];

function operationLines({ allowUnpaidCreate }: AgentGuideInput): string[] {
  return operationsOf(loadOpenApiDocument()).map(({ method, path, operation }) => {
    const line = `- \`${method.toUpperCase()} ${path}\`: ${String(operation.summary ?? operation.operationId)}`;
    if (operation.operationId !== 'createMachine') return line;
    return allowUnpaidCreate
      ? `${line} Enabled on this deployment (the operator allows machines without payment).`
      : `${line} **Off on this deployment: it answers 403.** Agents lease through the paid order flow above.`;
  });
}

/**
 * /llms.txt: the whole journey on one page for an agent that has never seen the storefront,
 * written from the catalog, the accepted payment methods and the contract, so it says what
 * this deployment does rather than what someone once wrote down.
 */
export function agentGuide(input: AgentGuideInput): string {
  const { baseUrl, methods } = input;
  const example = PRODUCT_IDS[0];
  const testOffered = methods.includes('test/charge');
  return [
    '# Agentic Compute Storefront',
    '',
    '> Lease a temporary machine for minutes to hours, pay for each lease over HTTP 402 with the Machine Payments Protocol (MPP), SSH in with your own key, then extend or terminate it with capability tokens.',
    '',
    `Base URL: ${baseUrl}. Contract (OpenAPI 3.1, \`x-payment-info\` on the paid operations): ${baseUrl}/openapi.json. Every product's price and availability in one request: ${baseUrl}/api/products. Payment methods accepted here: ${methods.map((method) => `\`${method}\``).join(', ') || 'none configured'}.`,
    '',
    "Times are the storefront's: `server_time` in `/api/health`, `/api/products` and every 402 body is its clock, and `expires_at` follows it. Compare against it, not your own clock.",
    '',
    '## Products',
    '',
    ...productLines(input),
    '',
    `Price (USD cents): ${PRICE_FORMULA}. The 402 challenge states the exact amount and is authoritative.`,
    '',
    '## The journey',
    '',
    `1. **Quote** (optional: the order's 402 states the same quote): \`POST ${baseUrl}/api/machine/mpp/orders/validate\` with \`${ORDER_BODY(example, 60)}\` → 200 with the quote and methods. Nothing is stored or charged.`,
    `2. **Order**: \`POST ${baseUrl}/api/machine/mpp/orders\` with the same body → 402, \`WWW-Authenticate: Payment …\` (one challenge per method, each starting \`Payment \`, comma-separated when they share the header) and \`{"order_id","status":"unpaid","error","quote","server_time"}\` (an extension's 402 has the same \`error\`, \`quote\` and \`server_time\`).`,
    '3. **Pay**: resend the identical body with `Authorization: Payment <credential>` → 202 with `Payment-Receipt`, the order, and `machine` with `machine_id` and `management` (`read_token`, `extend_token`, `terminate_token`). An MPP client (`mppx`: `Mppx.create({ methods }).fetch(url, init)`) does steps 2–3 by itself.',
    '4. **Poll**: `GET /api/machine/mpp/orders/{order_id}` (no auth) shows payment and provisioning; `GET /api/machines/{machine_id}` with `Authorization: Bearer <read_token>` shows `status` (provisioning → active), `host`, `ssh_command`, `expires_at`, `seconds_left` and `lease_clock`. The lease clock starts when the machine is active: while provisioning `lease_clock` is `not_started`, `seconds_left` is all the paid time and `expires_at` is provisional (created_at + lease_minutes); activation sets it to `activated_at` + lease_minutes, later by the time provisioning took. Every answer that returns a machine has `seconds_left`. Poll every few seconds, not faster.',
    '5. **SSH**: run `ssh_command` (e.g. `ssh ubuntu@<host>`) with the private key of the public key you sent.',
    '6. **Extend**: `POST /api/machines/{machine_id}/extend` with `Authorization: Bearer <extend_token>` and `{"additional_minutes":30,"request_id":"<crypto.randomUUID()>"}` (a fresh `request_id` per extension: it is that extension\'s idempotency key) → 402; pay the challenge and send `Payment-Authorization: Payment <credential>` (the same scheme and credential format as an order\'s `Authorization: Payment …`), with `Authorization: Bearer <extend_token>` kept → 200 with the new `expires_at`.',
    `7. **Terminate**: \`DELETE /api/machines/{machine_id}\` with \`Authorization: Bearer <terminate_token>\` → 200 \`terminating\`: billing has stopped and the instance is being ended, so there is nothing to poll for; later reads show \`terminated\`. Otherwise the machine ends at \`expires_at\`. ${
      input.refundUnusedMinutes
        ? 'Terminating early refunds the unused whole minutes at the per-minute price (the base fee, the minimum lease and minutes bought by extensions are kept): when any minute is refundable, the answer and later reads show `refund: {amount_cents, status}` (no `refund` field means nothing was refundable), `pending` until the payment provider confirms, then `refunded` (within minutes). A lease that ends by itself refunds nothing; one that fails before use is refunded in full. Unlike some storefronts, this one does not keep unused time.'
        : 'Unused minutes are not refunded on this deployment; a lease that fails before use is refunded in full.'
    }`,
    '',
    ...(testOffered ? [...TEST_CREDENTIAL_RECIPE, ''] : []),
    '## Rules',
    '',
    '- `request_id` is the idempotency key and a secret: with it and the order body anyone can resend the order and re-read its tokens. Make it random (`crypto.randomUUID()`), keep it private; guessable ids (the nil UUID, one digit repeated) are refused with 400. A retry of the identical body returns the same order, machine and tokens and charges nothing; the same `request_id` with another body is 409.',
    '- Tokens are shown at purchase (and to an identical retry); each authorises one operation on one machine. On a machine operation, a missing or malformed `Authorization: Bearer` is 401, a token that does not fit is 403.',
    '- Every error is `{"error":"<what is wrong>"}`. A wrong method is 405 with `Allow`; HEAD works wherever GET does.',
    `- Acceptable use: ${acceptableUseUrl(baseUrl)}. Paying for an order accepts it; mining, email sending, scanning and attacks end the lease for cause, and a blocked SSH key or address is refused with 403 before any payment is asked for.`,
    '- Per-client limits: too many requests from one address in a minute (paid writes and reads have separate budgets) get 429 with `Retry-After` in seconds; wait that long.',
    '',
    '## Operations',
    '',
    ...operationLines(input),
    '',
  ].join('\n');
}
