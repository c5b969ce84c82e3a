import { execFileSync, spawnSync } from 'node:child_process';

/**
 * cloud-init's own reading of user data: PyYAML (YAML 1.1) `safe_load`, as cloud-init's
 * `util.load_yaml` calls it. JSON.parse is not the parser that reads the user data on EC2,
 * and the two disagree on bytes such as U+0085. There is no fallback: without PyYAML the
 * tests that need it fail (.ci/run installs Debian's python3-yaml).
 */
const CANDIDATES = [process.env.PYYAML_PYTHON, 'python3', '/usr/bin/python3'].filter(
  (candidate): candidate is string => Boolean(candidate),
);

let found: string | undefined;

export function pythonWithYaml(): string {
  if (found) return found;
  for (const python of CANDIDATES) {
    const probe = spawnSync(python, ['-c', 'import yaml'], { stdio: 'ignore' });
    if (probe.status === 0) {
      found = python;
      return python;
    }
  }
  throw new Error(
    `PyYAML (cloud-init's YAML parser) was not found for ${CANDIDATES.join(', ')}: install Debian's python3-yaml (or set PYYAML_PYTHON)`,
  );
}

const LOAD_EACH = `
import json, sys, yaml
results = []
for document in json.load(sys.stdin):
    if not document.startswith('#cloud-config\\n'):
        results.append({'error': 'no #cloud-config header'})
        continue
    try:
        results.append({'config': yaml.safe_load(document)})
    except yaml.YAMLError as error:
        results.append({'error': str(error).splitlines()[0]})
json.dump(results, sys.stdout)
`;

export type CloudInitReading = { config: Record<string, unknown> } | { error: string };

/** Each user data document as cloud-init reads it, in one Python process. */
export function readAsCloudInit(documents: readonly string[]): CloudInitReading[] {
  const output = execFileSync(pythonWithYaml(), ['-c', LOAD_EACH], {
    input: JSON.stringify(documents),
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(output.toString('utf8')) as CloudInitReading[];
}
