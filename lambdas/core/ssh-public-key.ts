/**
 * Validation of the agent's OpenSSH public key. The key ends up in the machine's
 * authorized_keys through user data, so anything beyond one plain key line (options,
 * a second key, control characters) is refused rather than sanitised.
 */

export const MAX_SSH_PUBLIC_KEY_BYTES = 8 * 1024;
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 16384;

type KeyShape = (reader: WireReader, type: string) => void;

const ED25519_KEY_BYTES = 32;
const ECDSA_POINT_BYTES: Record<string, number> = { nistp256: 65, nistp384: 97, nistp521: 133 };

const ecdsaShape =
  (curve: string, securityKey: boolean): KeyShape =>
  (reader) => {
    const curveName = reader.string().toString('latin1');
    if (curveName !== curve)
      throw new KeyError(`its curve ${curveName} does not match the key type`);
    const point = reader.string();
    if (point.length !== ECDSA_POINT_BYTES[curve] || point[0] !== 0x04) {
      throw new KeyError('its ECDSA public point is malformed');
    }
    if (securityKey) reader.string();
  };

const ed25519Shape =
  (securityKey: boolean): KeyShape =>
  (reader) => {
    if (reader.string().length !== ED25519_KEY_BYTES)
      throw new KeyError('its Ed25519 key is not 32 bytes');
    if (securityKey) reader.string();
  };

const rsaShape: KeyShape = (reader) => {
  const exponent = stripLeadingZeros(reader.string());
  const modulus = stripLeadingZeros(reader.string());
  if (exponent.length === 0 || (exponent[exponent.length - 1] ?? 0) % 2 === 0) {
    throw new KeyError('its RSA exponent is invalid');
  }
  const bits = bitLength(modulus);
  if (bits < MIN_RSA_BITS)
    throw new KeyError(`RSA keys need at least ${MIN_RSA_BITS} bits, this one has ${bits}`);
  if (bits > MAX_RSA_BITS) throw new KeyError(`RSA keys may have at most ${MAX_RSA_BITS} bits`);
};

const KEY_SHAPES = new Map<string, KeyShape>(
  Object.entries({
    'ssh-ed25519': ed25519Shape(false),
    'sk-ssh-ed25519@openssh.com': ed25519Shape(true),
    'ecdsa-sha2-nistp256': ecdsaShape('nistp256', false),
    'ecdsa-sha2-nistp384': ecdsaShape('nistp384', false),
    'ecdsa-sha2-nistp521': ecdsaShape('nistp521', false),
    'sk-ecdsa-sha2-nistp256@openssh.com': ecdsaShape('nistp256', true),
    'ssh-rsa': rsaShape,
  }),
);

export const SUPPORTED_SSH_KEY_TYPES = [...KEY_SHAPES.keys()];

class KeyError extends Error {}

class WireReader {
  private offset = 0;
  constructor(private readonly bytes: Buffer) {}
  string(): Buffer {
    if (this.offset + 4 > this.bytes.length) throw new KeyError('its key data is truncated');
    const length = this.bytes.readUInt32BE(this.offset);
    this.offset += 4;
    if (this.offset + length > this.bytes.length) throw new KeyError('its key data is truncated');
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
  get exhausted(): boolean {
    return this.offset === this.bytes.length;
  }
}

function stripLeadingZeros(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

function bitLength(bytes: Buffer): number {
  const first = bytes[0];
  if (first === undefined) return 0;
  return (bytes.length - 1) * 8 + (32 - Math.clz32(first));
}

export type SshKeyCheck = { ok: true; key: string; type: string } | { ok: false; reason: string };

/**
 * Printable ASCII only, the space included. The key reaches the machine through cloud-init,
 * which reads user data with a YAML 1.1 parser: there U+0085 (NEL), U+2028 and U+2029 are
 * line breaks (a second authorized_keys line of the agent's choosing) and other C1 characters
 * make the whole cloud-config unreadable. OpenSSH's own key lines are ASCII: the type, the
 * base64 data, and a comment.
 */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Returns the normalised key line (one trailing newline from `cat key.pub` is tolerated
 * and removed) or why it is refused, phrased to follow "ssh_public_key …".
 */
export function checkSshPublicKey(input: string): SshKeyCheck {
  if (Buffer.byteLength(input, 'utf8') > MAX_SSH_PUBLIC_KEY_BYTES) {
    return { ok: false, reason: `must be at most ${MAX_SSH_PUBLIC_KEY_BYTES} bytes` };
  }
  if (/PRIVATE KEY|^\s*-----BEGIN/.test(input)) {
    return {
      ok: false,
      reason: 'looks like a private key; send the public key (the .pub file) instead',
    };
  }
  const line = input.replace(/\r?\n$/, '').trim();
  if (line === '') return { ok: false, reason: 'must not be empty' };
  if (/[\r\n]/.test(line))
    return { ok: false, reason: 'must be a single line holding exactly one key' };
  if (!PRINTABLE_ASCII.test(line))
    return {
      ok: false,
      reason:
        'must be printable ASCII only (no control characters, no characters beyond ASCII in its comment)',
    };
  // The user data quotes the key as a JSON string, where each `"` and `\` takes two bytes, and
  // EC2 refuses user data over 16 KiB: the key as written there is held to the same cap, so
  // that no accepted key can make a paid launch fail.
  if (JSON.stringify(line).length - 2 > MAX_SSH_PUBLIC_KEY_BYTES) {
    return {
      ok: false,
      reason: `must be at most ${MAX_SSH_PUBLIC_KEY_BYTES} bytes, counting each " and \\ in its comment twice`,
    };
  }

  const [type = '', blob = '', ...commentWords] = line.split(/ +/);
  const shape = KEY_SHAPES.get(type);
  if (!shape) {
    if (/[=",]/.test(type) || /^(no-|restrict$|cert-authority$)/.test(type)) {
      return {
        ok: false,
        reason: 'must not carry authorized_keys options; send only "<type> <base64> [comment]"',
      };
    }
    return {
      ok: false,
      reason: `has unsupported key type "${type.slice(0, 40)}"; use one of ${SUPPORTED_SSH_KEY_TYPES.join(', ')}`,
    };
  }
  if (commentWords.some((word) => KEY_SHAPES.has(word))) {
    return { ok: false, reason: 'must hold exactly one key' };
  }
  if (!BASE64.test(blob) || blob.length % 4 !== 0) {
    return { ok: false, reason: 'key data is not valid base64' };
  }
  const reader = new WireReader(Buffer.from(blob, 'base64'));
  try {
    const embeddedType = reader.string().toString('latin1');
    if (embeddedType !== type) {
      return {
        ok: false,
        reason: `declares type ${type} but its key data is of type ${embeddedType.slice(0, 40)}`,
      };
    }
    shape(reader, type);
    if (!reader.exhausted) throw new KeyError('its key data has trailing bytes');
  } catch (error) {
    if (error instanceof KeyError)
      return { ok: false, reason: `is not a valid ${type} key: ${error.message}` };
    throw error;
  }
  return { ok: true, key: line, type };
}
