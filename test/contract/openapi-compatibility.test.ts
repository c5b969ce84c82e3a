import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadOpenApiDocument } from '../../lambdas/contract/openapi-document.js';

/**
 * openapi.json may only grow: this baseline is the contract as first published, and
 * everything it says must still hold in the project's document.
 */
const baseline = JSON.parse(
  readFileSync(fileURLToPath(new URL('./baseline-openapi.json', import.meta.url)), 'utf8'),
) as unknown;

/** Where `current` fails to say everything `base` says (descriptions and summaries may change). */
function differences(base: unknown, current: unknown, path: string): string[] {
  if (Array.isArray(base)) {
    return JSON.stringify(base) === JSON.stringify(current)
      ? []
      : [`${path}: was ${JSON.stringify(base)}, now ${JSON.stringify(current)}`];
  }
  if (base && typeof base === 'object') {
    if (!current || typeof current !== 'object' || Array.isArray(current))
      return [`${path}: no longer an object`];
    return Object.entries(base).flatMap(([key, value]) =>
      ['description', 'summary'].includes(key)
        ? []
        : key in current
          ? differences(value, (current as Record<string, unknown>)[key], `${path}/${key}`)
          : [`${path}/${key}: removed`],
    );
  }
  return base === current
    ? []
    : [`${path}: was ${JSON.stringify(base)}, now ${JSON.stringify(current)}`];
}

describe('openapi.json compatibility', () => {
  it('still contains every path, operation, parameter, response and schema of the published contract', () => {
    const current = loadOpenApiDocument();
    const { servers: _servers, info: _info, ...contract } = baseline as Record<string, unknown>;
    expect(differences(contract, current, '')).toEqual([]);
  });

  it('notices a removal or a change (the check itself works)', () => {
    const changed = structuredClone(baseline) as {
      components: { schemas: { Machine: { required: string[] } } };
    };
    changed.components.schemas.Machine.required.pop();
    expect(differences(baseline, changed, '').length).toBeGreaterThan(0);
    expect(differences({ a: { b: 1 } }, { a: {} }, '')).toEqual(['/a/b: removed']);
  });
});
