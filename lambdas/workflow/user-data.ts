/**
 * The machine's first-boot script (cloud-init). It installs the agent's key for the
 * product's user and, once the machine is usable (for the GPU product: nvidia-smi lists an
 * H100), adds a marker to the SSH server's banner. The workflow reports the machine active
 * only when the banner carries the marker, so "active" means "ready to log in" and the
 * machine needs no AWS credentials to say so.
 */
export const READY_BANNER_MARKER = 'storefront-ready';

const GPU_CHECK = [
  'for attempt in $(seq 1 90); do',
  '  if nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | grep -q "H100"; then exit 0; fi',
  '  sleep 10',
  'done',
  'exit 1',
].join('\n');

const MARK_READY = [
  `printf 'VersionAddendum ${READY_BANNER_MARKER}\\n' > /etc/ssh/sshd_config.d/90-storefront-ready.conf`,
  'systemctl restart ssh',
].join(' && ');

export interface UserDataInput {
  sshPublicKey: string;
  /** Waits for the GPU before reporting ready. */
  requireGpu: boolean;
}

/** cloud-config in its JSON form: JSON.stringify quotes the key, so no comment can break out. */
export function renderUserData(input: UserDataInput): string {
  const config = {
    ssh_authorized_keys: [input.sshPublicKey],
    ssh_pwauth: false,
    disable_root: true,
    runcmd: [['bash', '-c', input.requireGpu ? `(${GPU_CHECK}) && ${MARK_READY}` : MARK_READY]],
  };
  return `#cloud-config\n${JSON.stringify(config, null, 2)}\n`;
}
