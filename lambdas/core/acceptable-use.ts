/** Where the storefront publishes its acceptable-use policy, under the deployment's public URL. */
export const ACCEPTABLE_USE_PATH = '/acceptable-use';

export const acceptableUseUrl = (publicBaseUrl: string) =>
  `${publicBaseUrl.replace(/\/+$/, '')}${ACCEPTABLE_USE_PATH}`;

/**
 * The most an operator's own text may hold: it travels in one function's environment, and
 * Lambda allows 4 KB of environment per function in all.
 */
export const MAX_POLICY_BYTES = 3000;

/** What paying for an order accepts; shown in every order's payment challenge. */
export const acceptanceNote = (policyUrl: string) =>
  `paying accepts the acceptable-use policy ${policyUrl}`;

/**
 * The policy served at GET /acceptable-use unless the operator configures their own
 * (cdk.json `storefront:acceptableUsePolicy`). What it promises is what the storefront does:
 * docs/abuse.md describes the enforcement.
 */
export const DEFAULT_ACCEPTABLE_USE_POLICY = `# Acceptable use

Machines leased here run in the operator's cloud account. Abuse reports against that account
can stop every machine of every customer, so these rules are enforced, not just published.
Paying for an order accepts them.

## Prohibited

- Cryptocurrency mining.
- Sending email (outbound SMTP ports 25, 465 and 587 are closed by default), spam of any kind.
- Scanning, probing or attacking systems you do not own or have no written permission to test;
  denial-of-service traffic.
- Malware, botnets, command-and-control servers, phishing, credential theft.
- Anything unlawful where the machine or its target is, or that infringes others' rights.
- Evading a refusal or a block (another key, address or payment method for the same purpose).

## What happens on a violation

- The lease is ended for cause: the machine is terminated and the lease shows \`failed\` with a
  \`failure_reason\` naming this policy.
- Future orders are refused (403, before any payment is asked for) by SSH key, by client
  address range, or by payer where the payment method identifies one.
- Abuse found automatically (Amazon GuardDuty findings about the machine) is handled the same
  way, without a person.

## Refunds

- Time already used is never refunded after a violation.
- An operator ending a lease for cause refunds nothing, the unused minutes, or the whole lease,
  as they decide and record; automatic ends refund the unused minutes only.
- A refund goes back through the payment method that paid.
`;
