import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  opensshLine,
  sshString,
  throwawayEd25519Key,
} from '../../lambdas/operator/throwaway-ssh-key.js';

/** Real OpenSSH public key lines, built from freshly generated keys. */

const mpint = (value: Buffer) =>
  sshString(
    value[0] !== undefined && value[0] & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value,
  );

const b64 = (value: string | undefined) => Buffer.from(value ?? '', 'base64url');

export const sshLine = (type: string, fields: Buffer[], comment = 'agent@example') =>
  opensshLine(type, fields, comment);

function jwk(key: KeyObject) {
  return key.export({ format: 'jwk' });
}

export const ed25519Key = (comment = 'agent@example') => throwawayEd25519Key(comment);

const CURVES = { nistp256: 'P-256', nistp384: 'P-384', nistp521: 'P-521' } as const;

export function ecdsaKey(curve: keyof typeof CURVES, comment?: string): string {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: CURVES[curve] });
  const { x, y } = jwk(publicKey);
  const point = Buffer.concat([Buffer.from([4]), b64(x), b64(y)]);
  return sshLine(`ecdsa-sha2-${curve}`, [sshString(curve), sshString(point)], comment);
}

export function rsaKey(bits: number, comment?: string): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const { e, n } = jwk(publicKey);
  return sshLine('ssh-rsa', [mpint(b64(e)), mpint(b64(n))], comment);
}

export function securityKeyEd25519(comment?: string): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  return sshLine(
    'sk-ssh-ed25519@openssh.com',
    [sshString(b64(jwk(publicKey).x)), sshString('ssh:')],
    comment,
  );
}

export function securityKeyEcdsa(comment?: string): string {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { x, y } = jwk(publicKey);
  const point = Buffer.concat([Buffer.from([4]), b64(x), b64(y)]);
  return sshLine(
    'sk-ecdsa-sha2-nistp256@openssh.com',
    [sshString('nistp256'), sshString(point), sshString('ssh:')],
    comment,
  );
}

/** A fixed, valid key for request bodies in tests. */
export const AGENT_KEY = ed25519Key('agent@example');
