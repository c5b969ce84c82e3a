import { READY_BANNER_MARKER, renderUserData } from '../../lambdas/workflow/user-data.js';
import { ed25519Key } from '../support/ssh-keys.js';

const configOf = (userData: string) => {
  const [header, ...rest] = userData.split('\n');
  expect(header).toBe('#cloud-config');
  return JSON.parse(rest.join('\n')) as {
    ssh_authorized_keys: string[];
    runcmd: string[][];
    ssh_pwauth: boolean;
  };
};

describe('first-boot user data', () => {
  it('installs exactly the agent key, with password logins off', () => {
    const key = ed25519Key('agent "quoted" $(touch ~/pwned) `id`');
    const config = configOf(renderUserData({ sshPublicKey: key, requireGpu: false }));
    expect(config.ssh_authorized_keys).toEqual([key]);
    expect(config.ssh_pwauth).toBe(false);
  });

  it('keeps the key out of every command it runs', () => {
    const key = ed25519Key('$(reboot)');
    const config = configOf(renderUserData({ sshPublicKey: key, requireGpu: true }));
    expect(JSON.stringify(config.runcmd)).not.toContain('reboot');
  });

  it('marks the SSH banner ready at the end, after the GPU check for the GPU product only', () => {
    const bare = configOf(renderUserData({ sshPublicKey: ed25519Key(), requireGpu: false }))
      .runcmd.flat()
      .join(' ');
    const gpu = configOf(renderUserData({ sshPublicKey: ed25519Key(), requireGpu: true }))
      .runcmd.flat()
      .join(' ');
    expect(bare).toContain(`VersionAddendum ${READY_BANNER_MARKER}`);
    expect(bare).not.toContain('nvidia-smi');
    expect(gpu.indexOf('nvidia-smi')).toBeLessThan(gpu.indexOf('VersionAddendum'));
    expect(gpu).toContain('H100');
  });
});
