// asl-validator, as aws-local-stepfunctions calls it for every StateMachine it builds, run once
// per definition per test run: the validator compiles every Amazon States Language schema into
// a new Ajv on each call (over a second of CPU the first time in a process), and the local
// storefront builds one state machine per start from the same few synthesised definitions.
// A definition found valid is recorded in the run directory (test/support/global-setup.ts), so
// other workers and later files take the same answer; an invalid one is validated each time.
// Mapped in jest.config.js.
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const validate = require('asl-validator/dist/src/validator.js');

const validInThisFile = new Map();

/** What the validator answers for a valid definition. */
const VALID = { isValid: true, errors: [], errorsText: () => '' };

/** Puts back what the validator adds to a definition (each state's default QueryLanguage). */
function addMissing(target, source) {
  for (const [key, value] of Object.entries(source)) {
    if (!(key in target)) target[key] = structuredClone(value);
    else if (value !== null && typeof value === 'object' && typeof target[key] === 'object')
      addMissing(target[key], value);
  }
}

/** Where a valid definition is recorded for the rest of the run (none outside a Jest run). */
function recordFile(key) {
  const run = process.env.STOREFRONT_TEST_RUN_DIR;
  if (!run) return undefined;
  const folder = join(run, 'valid-state-machines');
  mkdirSync(folder, { recursive: true });
  return join(folder, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
}

module.exports = function validateOnce(definition, options) {
  const key = JSON.stringify([definition, options ?? null]);
  const file = recordFile(key);
  let validated = validInThisFile.get(key);
  if (validated === undefined && file && existsSync(file)) {
    const record = JSON.parse(readFileSync(file, 'utf8'));
    // The file name is a hash: the record must be of this very definition.
    if (record.key === key) validated = record.validated;
  }
  if (validated !== undefined) {
    addMissing(definition, validated);
    return VALID;
  }
  const result = validate(definition, options);
  if (result.isValid) {
    validated = JSON.parse(JSON.stringify(definition));
    validInThisFile.set(key, validated);
    if (file) {
      const partial = `${file}.${process.pid}.partial`;
      writeFileSync(partial, JSON.stringify({ key, validated }));
      renameSync(partial, file);
    }
  }
  return result;
};
