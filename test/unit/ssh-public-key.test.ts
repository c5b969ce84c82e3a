import { checkSshPublicKey, MAX_SSH_PUBLIC_KEY_BYTES } from '../../lambdas/core/ssh-public-key.js';
import {
  ecdsaKey,
  ed25519Key,
  rsaKey,
  securityKeyEcdsa,
  securityKeyEd25519,
  sshLine,
} from '../support/ssh-keys.js';

const refusal = (key: string) => {
  const result = checkSshPublicKey(key);
  return result.ok ? undefined : result.reason;
};

describe('SSH public key validation', () => {
  it.each([
    ['ssh-ed25519', ed25519Key()],
    ['ecdsa-sha2-nistp256', ecdsaKey('nistp256')],
    ['ecdsa-sha2-nistp384', ecdsaKey('nistp384')],
    ['ecdsa-sha2-nistp521', ecdsaKey('nistp521')],
    ['sk-ssh-ed25519@openssh.com', securityKeyEd25519()],
    ['sk-ecdsa-sha2-nistp256@openssh.com', securityKeyEcdsa()],
    ['ssh-rsa 2048', rsaKey(2048)],
    ['ssh-rsa 3072', rsaKey(3072)],
  ])('accepts a real %s key', (_label, key) => {
    expect(checkSshPublicKey(key)).toEqual({ ok: true, key, type: key.split(' ')[0] });
  });

  it('accepts a key without a comment, and a comment with spaces', () => {
    expect(checkSshPublicKey(ed25519Key('')).ok).toBe(true);
    expect(checkSshPublicKey(ed25519Key('my laptop key')).ok).toBe(true);
  });

  it('tolerates the trailing newline of a .pub file and removes it', () => {
    const key = ed25519Key();
    expect(checkSshPublicKey(`${key}\n`)).toMatchObject({ ok: true, key });
    expect(checkSshPublicKey(`${key}\r\n`)).toMatchObject({ ok: true, key });
  });

  it('refuses RSA keys under 2048 bits', () => {
    expect(refusal(rsaKey(1024))).toMatch(/at least 2048 bits, this one has 1024/);
  });

  it('refuses private keys', () => {
    expect(
      refusal(
        '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----',
      ),
    ).toMatch(/private key/);
    expect(refusal('-----BEGIN RSA PRIVATE KEY-----')).toMatch(/private key/);
  });

  it('refuses several keys, on several lines or on one', () => {
    expect(refusal(`${ed25519Key()}\n${ed25519Key()}`)).toMatch(/single line/);
    expect(refusal(`${ed25519Key('')} ${ed25519Key('')}`)).toMatch(/exactly one key/);
  });

  it.each([
    ['command="rm -rf /" '],
    ['no-pty '],
    ['restrict '],
    ['from="10.0.0.1",no-agent-forwarding '],
  ])('refuses authorized_keys options (%s)', (options) => {
    expect(refusal(`${options}${ed25519Key()}`)).toMatch(/authorized_keys options/);
  });

  it.each([
    ['a tab', '\t'],
    ['a NUL', '\u0000'],
    ['an escape', '\u001b[31m'],
    ['DEL', '\u007f'],
  ])('refuses control characters (%s)', (_label, character) => {
    expect(refusal(`${ed25519Key('')} comment${character}x`)).toMatch(/control characters/);
  });

  it('refuses anything over 8 KiB', () => {
    expect(refusal(`${ed25519Key('')} ${'x'.repeat(MAX_SSH_PUBLIC_KEY_BYTES)}`)).toMatch(
      /at most 8192 bytes/,
    );
  });

  it('refuses unknown key types, DSA included', () => {
    expect(refusal('ssh-dss AAAAB3NzaC1kc3MAAACBAP')).toMatch(/unsupported key type "ssh-dss"/);
    expect(refusal('hello world')).toMatch(/unsupported key type/);
  });

  it('refuses a key whose embedded type differs from its prefix', () => {
    const ed = ed25519Key('').split(' ')[1];
    expect(refusal(`ssh-rsa ${ed}`)).toMatch(
      /declares type ssh-rsa but its key data is of type ssh-ed25519/,
    );
  });

  it('refuses broken base64 and truncated or padded key data', () => {
    expect(refusal('ssh-ed25519 not*base64')).toMatch(/not valid base64/);
    expect(refusal('ssh-ed25519')).toMatch(/not valid base64/);
    const blob = Buffer.from(ed25519Key('').split(' ')[1] ?? '', 'base64');
    expect(refusal(`ssh-ed25519 ${blob.subarray(0, blob.length - 4).toString('base64')}`)).toMatch(
      /truncated|not 32 bytes/,
    );
    expect(
      refusal(`ssh-ed25519 ${Buffer.concat([blob, Buffer.alloc(4)]).toString('base64')}`),
    ).toMatch(/trailing bytes/);
  });

  it('refuses an ECDSA key whose curve does not match its type', () => {
    const p256 = ecdsaKey('nistp256', '').split(' ')[1] ?? '';
    const blob = Buffer.from(p256, 'base64');
    const relabelled = sshLine(
      'ecdsa-sha2-nistp384',
      [blob.subarray(4 + 'ecdsa-sha2-nistp256'.length)],
      '',
    );
    expect(refusal(relabelled)).toMatch(/curve nistp256 does not match/);
  });

  it('refuses an empty key', () => {
    expect(refusal('')).toMatch(/must not be empty/);
    expect(refusal('   ')).toMatch(/must not be empty/);
  });
});
