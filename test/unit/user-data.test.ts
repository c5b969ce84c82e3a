import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_CATALOG } from '../../lambdas/core/catalog.js';
import { READY_BANNER_MARKER } from '../../lambdas/core/ready-banner.js';
import {
  LEASE_FILE,
  leaseNotice,
  READY_CALLBACK_FILE,
  renderUserData,
  reportReadyScript,
  timerScript,
} from '../../lambdas/workflow/user-data.js';
import { ed25519Key } from '../support/ssh-keys.js';

interface CloudConfig {
  ssh_authorized_keys: string[];
  runcmd: string[][];
  ssh_pwauth: boolean;
  write_files: { path: string; content: string; permissions: string }[];
}

const configOf = (userData: string) => {
  const [header, ...rest] = userData.split('\n');
  expect(header).toBe('#cloud-config');
  return JSON.parse(rest.join('\n')) as CloudConfig;
};

const gpuReadiness = DEFAULT_CATALOG['gpu-h100-machine'].readiness;
const bareReadiness = DEFAULT_CATALOG['bare-linux-machine'].readiness;

describe('first-boot user data', () => {
  it('installs exactly the agent key, with password logins off', () => {
    const key = ed25519Key('agent "quoted" $(touch ~/pwned) `id`');
    const config = configOf(renderUserData({ sshPublicKey: key, readiness: bareReadiness }));
    expect(config.ssh_authorized_keys).toEqual([key]);
    expect(config.ssh_pwauth).toBe(false);
  });

  it('keeps the key out of every command and file it writes', () => {
    const key = ed25519Key('$(reboot)');
    const config = configOf(renderUserData({ sshPublicKey: key, readiness: gpuReadiness }));
    expect(JSON.stringify(config.runcmd)).not.toContain('reboot');
    expect(JSON.stringify(config.write_files)).not.toContain('reboot');
  });

  it('waits for the GPU model the catalog names before marking the SSH banner ready', () => {
    const bare = configOf(renderUserData({ sshPublicKey: ed25519Key(), readiness: bareReadiness }))
      .runcmd.flat()
      .join(' ');
    const gpu = configOf(
      renderUserData({ sshPublicKey: ed25519Key(), readiness: { gpuModel: 'L40S' } }),
    )
      .runcmd.flat()
      .join(' ');
    expect(bare).toContain(`VersionAddendum ${READY_BANNER_MARKER}`);
    expect(bare).not.toContain('nvidia-smi');
    expect(gpu.indexOf('nvidia-smi')).toBeLessThan(gpu.indexOf('VersionAddendum'));
    expect(gpu).toContain("grep -qF 'L40S'");
    expect(gpu).not.toContain('H100');
  });

  it('refuses a GPU model that could break out of the script', () => {
    expect(() =>
      renderUserData({ sshPublicKey: ed25519Key(), readiness: { gpuModel: "H100'; reboot; '" } }),
    ).toThrow(/not a GPU model name/);
  });

  it('installs and starts the lease timer', () => {
    const config = configOf(renderUserData({ sshPublicKey: ed25519Key(), readiness: {} }));
    expect(config.write_files.map((file) => file.path)).toEqual([
      '/usr/local/sbin/storefront-lease-timer',
      '/etc/systemd/system/storefront-lease.service',
      '/etc/systemd/system/storefront-lease.timer',
    ]);
    expect(config.runcmd).toContainEqual([
      'systemctl',
      'enable',
      '--now',
      'storefront-lease.timer',
    ]);
    expect(LEASE_FILE).toBe('/run/storefront/lease');
  });
});

describe('the lease timer script', () => {
  let dir: string;
  const run = (endsAt: string) => {
    writeFileSync(join(dir, 'tag'), endsAt);
    execFileSync('bash', [join(dir, 'timer')], {
      env: {
        PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
        STOREFRONT_RUN_DIR: join(dir, 'run'),
        FAKE_TAG: join(dir, 'tag'),
        WALL_LOG: join(dir, 'wall.log'),
      },
    });
  };
  const walls = () => {
    try {
      return readFileSync(join(dir, 'wall.log'), 'utf8').trim().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  const inMinutes = (minutes: number) =>
    new Date(Date.now() + minutes * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lease-timer-'));
    execFileSync('mkdir', ['-p', join(dir, 'bin')]);
    // IMDS stand-in: a token for the PUT, the tag's value for the GET.
    const curl = join(dir, 'bin', 'curl');
    writeFileSync(
      curl,
      '#!/bin/bash\ncase "$*" in *api/token*) echo token;; *tags/instance/storefront:lease-ends-at*) cat "$FAKE_TAG";; *) exit 22;; esac\n',
    );
    const wall = join(dir, 'bin', 'wall');
    writeFileSync(wall, '#!/bin/bash\necho "$*" >> "$WALL_LOG"\n');
    chmodSync(curl, 0o755);
    chmodSync(wall, 0o755);
    writeFileSync(join(dir, 'timer'), timerScript());
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the lease end for scripts and stays quiet far from it', () => {
    const endsAt = inMinutes(60);
    run(endsAt);
    expect(readFileSync(join(dir, 'run', 'lease'), 'utf8')).toBe(`${endsAt}\n`);
    expect(walls()).toEqual([]);
  });

  it('warns once at 10 minutes, once at 2, and again after an extension moves the end', () => {
    const endsAt = inMinutes(9);
    run(endsAt);
    run(endsAt);
    expect(walls()).toHaveLength(1);
    expect(walls()[0]).toContain(`lease ends at ${endsAt} (in about 10 minutes)`);
    const soon = inMinutes(1.5);
    run(soon);
    expect(walls()).toHaveLength(2);
    expect(walls()[1]).toContain('in about 2 minutes');
    const extended = inMinutes(8);
    run(extended);
    expect(readFileSync(join(dir, 'run', 'lease'), 'utf8')).toBe(`${extended}\n`);
    expect(walls()).toHaveLength(3);
  });

  it('agrees with the notice the simulated machine shows', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(leaseNotice('2026-01-01T00:30:00Z', now)).toEqual({
      leaseFile: '2026-01-01T00:30:00Z\n',
    });
    expect(leaseNotice('2026-01-01T00:09:00Z', now).warningMinutes).toBe(10);
    expect(leaseNotice('2026-01-01T00:01:00Z', now).warningMinutes).toBe(2);
    expect(leaseNotice('2025-12-31T23:59:00Z', now).warningMinutes).toBeUndefined();
  });
});

describe('the ready report', () => {
  const callback = {
    url: 'https://shop.example/api/machines/machine_0123456789abcdef/ready',
    secret: `mr_ready_${'s'.repeat(43)}`,
  };

  it('is written only with a callback, readable by root alone, and runs after the banner marker', () => {
    const config = configOf(
      renderUserData({
        sshPublicKey: ed25519Key(),
        readiness: gpuReadiness,
        readyCallback: callback,
      }),
    );
    const file = config.write_files.find((entry) => entry.path === READY_CALLBACK_FILE);
    expect(file).toEqual({
      path: READY_CALLBACK_FILE,
      permissions: '0600',
      content: `${callback.url}\n${callback.secret}\n`,
    });
    // The secret is in that file only: never on a command line.
    expect(JSON.stringify(config.runcmd)).not.toContain(callback.secret);
    const ready = config.runcmd.flat().join(' ');
    expect(ready.indexOf('nvidia-smi')).toBeLessThan(ready.indexOf('VersionAddendum'));
    expect(ready.indexOf('VersionAddendum')).toBeLessThan(ready.indexOf('storefront-report-ready'));
    const polledOnly = configOf(renderUserData({ sshPublicKey: ed25519Key(), readiness: {} }));
    expect(JSON.stringify(polledOnly)).not.toContain('storefront-report-ready');
  });

  it('refuses a callback URL that is not http(s) or carries whitespace', () => {
    for (const url of ['ftp://shop.example/ready', 'https://shop.example/a b', 'not a url']) {
      expect(() =>
        renderUserData({
          sshPublicKey: ed25519Key(),
          readiness: {},
          readyCallback: { url, secret: callback.secret },
        }),
      ).toThrow();
    }
  });

  it('calls the URL once with the secret as a bearer header and nothing else to say, then forgets it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ready-report-'));
    const received: { method?: string; authorization?: string; body: string }[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        received.push({
          method: request.method,
          authorization: request.headers.authorization,
          body,
        });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const file = join(dir, 'ready');
      writeFileSync(file, `http://127.0.0.1:${port}/ready\n${callback.secret}\n`);
      writeFileSync(join(dir, 'report'), reportReadyScript());
      await promisify(execFile)('bash', [join(dir, 'report')], {
        env: { PATH: process.env.PATH, STOREFRONT_READY_FILE: file },
      });
      expect(received).toEqual([
        {
          method: 'POST',
          authorization: `Bearer ${callback.secret}`,
          // The storefront reads the address from EC2: the machine reports only "ready".
          body: '{}',
        },
      ]);
      expect(existsSync(file)).toBe(false);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
