import { INSTANCE_TAGS } from '../adapters/ec2/instance-tags.js';
import type { Readiness } from '../core/products.js';
import { READY_BANNER_MARKER } from '../core/ready-banner.js';

/**
 * The machine's first-boot script (cloud-init). It installs the agent's key for the
 * product's user, starts the lease timer and, once the machine is usable (for a product with
 * a GPU: nvidia-smi lists the catalog's GPU model), adds a marker to the SSH server's banner
 * and reports itself ready: it calls the storefront's POST /api/machines/{machine_id}/ready
 * with the one-time readiness secret the launch put here, which activates the lease at once.
 * The banner marker is what the workflow's fallback polling looks for when no callback comes.
 * Either way "active" means "ready to log in", and the machine needs no AWS credentials.
 */
const LEASE_DIRECTORY = '/run/storefront';
/** Where scripts on the machine read the lease's end (one ISO 8601 line). */
export const LEASE_FILE = `${LEASE_DIRECTORY}/lease`;

/** Logged-in users are warned this many minutes before the end, once each per deadline. */
export const WARNING_MINUTES = [10, 2] as const;

const TIMER_SCRIPT = '/usr/local/sbin/storefront-lease-timer';
const REPORT_READY_SCRIPT = '/usr/local/sbin/storefront-report-ready';
/** The callback's URL and the one-time secret (two lines), readable by root only. */
export const READY_CALLBACK_FILE = '/var/lib/storefront/ready-callback';

/** How the boot script retries its ready call (curl's --retry and --retry-delay). */
export const READY_CALL_RETRIES = { attempts: 20, delaySeconds: 3 } as const;

/** What the lease timer shows at `now` for a lease ending at `endsAt` (the simulated machine uses it too). */
export interface LeaseNotice {
  leaseFile: string;
  /** The warning due now (the smallest mark the time left has passed), if any. */
  warningMinutes?: (typeof WARNING_MINUTES)[number];
}

export function leaseNotice(endsAt: string, now: Date): LeaseNotice {
  const left = Date.parse(endsAt) - now.getTime();
  const due = [...WARNING_MINUTES]
    .sort((a, b) => a - b)
    .find((minutes) => left > 0 && left <= minutes * 60_000);
  return { leaseFile: `${endsAt}\n`, ...(due ? { warningMinutes: due } : {}) };
}

/** The wall message; the timer script fills in its shell variables for both values. */
export function warningText(endsAt: string, minutes: number | string): string {
  return `Storefront: this machine's lease ends at ${endsAt} (in about ${minutes} minutes); the machine is then terminated. Extend the lease with POST /api/machines/{machine_id}/extend.`;
}

/**
 * Runs every 30 s: reads the lease end from the instance's tag through IMDSv2 (tags in
 * instance metadata are updated while the instance runs, so extensions show), rewrites the
 * lease file, and sends `wall` at each warning mark once per deadline.
 */
export const timerScript = () => `#!/bin/bash
set -u
imds=http://169.254.169.254/latest
token=$(curl -sf -m 2 -X PUT "$imds/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 60') || exit 0
ends=$(curl -sf -m 2 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/tags/instance/${INSTANCE_TAGS.leaseEndsAt}") || exit 0
ends_epoch=$(date -d "$ends" +%s 2>/dev/null) || exit 0
dir="\${STOREFRONT_RUN_DIR:-${LEASE_DIRECTORY}}"
mkdir -p "$dir"
printf '%s\\n' "$ends" > "$dir/.lease.tmp" && mv "$dir/.lease.tmp" "$dir/lease"
left=$(( ends_epoch - $(date +%s) ))
for minutes in ${[...WARNING_MINUTES].sort((a, b) => a - b).join(' ')}; do
  if [ "$left" -gt 0 ] && [ "$left" -le $(( minutes * 60 )) ]; then
    flag="$dir/warned-$minutes-$ends_epoch"
    if [ ! -e "$flag" ]; then
      touch "$flag"
      wall "${warningText('$ends', '$minutes')}"
    fi
    break
  fi
done
`;

const TIMER_UNITS = {
  service: `[Unit]\nDescription=Storefront lease timer: lease file and end-of-lease warnings\n\n[Service]\nType=oneshot\nExecStart=${TIMER_SCRIPT}\n`,
  timer: `[Unit]\nDescription=Storefront lease timer\n\n[Timer]\nOnBootSec=10s\nOnUnitActiveSec=30s\nAccuracySec=5s\n\n[Install]\nWantedBy=timers.target\n`,
};

const gpuCheck = (gpuModel: string) =>
  [
    'for attempt in $(seq 1 90); do',
    `  if nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | grep -qF '${gpuModel}'; then exit 0; fi`,
    '  sleep 10',
    'done',
    'exit 1',
  ].join('\n');

/**
 * Reports the machine ready once, then forgets the secret. The report says only "ready": the
 * storefront takes the machine's address from EC2. The secret travels in a header read from
 * stdin, never on a command line.
 */
export const reportReadyScript = () => `#!/bin/bash
set -u
file="\${STOREFRONT_READY_FILE:-${READY_CALLBACK_FILE}}"
[ -r "$file" ] || exit 0
{ read -r url; read -r secret; } < "$file"
printf 'Authorization: Bearer %s\\n' "$secret" | curl -sS -f -o /dev/null --max-time 10 \\
  --retry ${READY_CALL_RETRIES.attempts} --retry-all-errors --retry-delay ${READY_CALL_RETRIES.delaySeconds} \\
  -X POST -H @- -H 'Content-Type: application/json' --data '{}' "$url"
status=$?
rm -f "$file"
exit $status
`;

const MARK_READY = [
  `printf 'VersionAddendum ${READY_BANNER_MARKER}\\n' > /etc/ssh/sshd_config.d/90-storefront-ready.conf`,
  'systemctl restart ssh',
].join(' && ');

export interface UserDataInput {
  sshPublicKey: string;
  /** What must be true before the machine reports ready (the catalog's readiness). */
  readiness: Readiness;
  /** Where and with what one-time secret the machine reports ready; absent: it is polled. */
  readyCallback?: { url: string; secret: string };
}

/** The ready file as the boot script reads it, and as the simulated machine reads it too. */
export function readyCallbackFile(callback: { url: string; secret: string }): string {
  const url = new URL(callback.url);
  if (!/^https?:$/.test(url.protocol) || /\s/.test(callback.url) || /\s/.test(callback.secret)) {
    throw new Error(`not a readiness callback URL: ${JSON.stringify(callback.url)}`);
  }
  return `${callback.url}\n${callback.secret}\n`;
}

export function parseReadyCallbackFile(content: string): { url: string; secret: string } {
  const [url = '', secret = ''] = content.split('\n');
  return { url, secret };
}

/**
 * JSON that PyYAML reads as the same document: every character outside printable ASCII is
 * written as a \\u escape. cloud-init parses user data as YAML 1.1, where U+0085, U+2028 and
 * U+2029 inside a quoted scalar are line breaks and other C1 characters are refused; escaped,
 * they are plain characters of a string, and the document is pure ASCII.
 */
export function yamlSafeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[^\x20-\x7e\n]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * cloud-config in its JSON form (JSON is YAML), ASCII only: the agent's key is one quoted
 * string, checked to be printable ASCII before it gets here, so no byte of it can change the
 * document's structure; tests parse the result with cloud-init's own YAML parser.
 */
export function renderUserData(input: UserDataInput): string {
  const { gpuModel } = input.readiness;
  // The catalog admits only letters, digits, spaces and . _ - here; refuse anything else.
  if (gpuModel !== undefined && !/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/.test(gpuModel)) {
    throw new Error(`not a GPU model name: ${JSON.stringify(gpuModel)}`);
  }
  const ready = input.readyCallback ? `${MARK_READY} && ${REPORT_READY_SCRIPT}` : MARK_READY;
  const config = {
    ssh_authorized_keys: [input.sshPublicKey],
    ssh_pwauth: false,
    disable_root: true,
    write_files: [
      { path: TIMER_SCRIPT, permissions: '0755', content: timerScript() },
      {
        path: '/etc/systemd/system/storefront-lease.service',
        permissions: '0644',
        content: TIMER_UNITS.service,
      },
      {
        path: '/etc/systemd/system/storefront-lease.timer',
        permissions: '0644',
        content: TIMER_UNITS.timer,
      },
      ...(input.readyCallback
        ? [
            { path: REPORT_READY_SCRIPT, permissions: '0700', content: reportReadyScript() },
            {
              path: READY_CALLBACK_FILE,
              permissions: '0600',
              content: readyCallbackFile(input.readyCallback),
            },
          ]
        : []),
    ],
    runcmd: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', 'storefront-lease.timer'],
      ['bash', '-c', gpuModel ? `(${gpuCheck(gpuModel)}) && ${ready}` : ready],
    ],
  };
  return `#cloud-config\n${yamlSafeJson(config)}\n`;
}
