import { generateKeyPairSync } from 'node:crypto';

/** OpenSSH public key lines built from freshly generated keys, for demos and tests. */

/** An SSH wire-format string: a 32-bit length, then the bytes. */
export const sshString = (value: Buffer | string) => {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

export function opensshLine(type: string, fields: Buffer[], comment = ''): string {
  const blob = Buffer.concat([sshString(type), ...fields]).toString('base64');
  return `${type} ${blob}${comment ? ` ${comment}` : ''}`;
}

/** A new Ed25519 public key; its private half is discarded. */
export function throwawayEd25519Key(comment = 'throwaway'): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  return opensshLine('ssh-ed25519', [sshString(raw)], comment);
}
