import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keptSynthesis, synthesisInputsHash } from '../../lambdas/local/stack-cache.js';
import type { SynthesizedStack } from '../../lambdas/local/synthesized-workflow.js';

/** A project with the files a synthesis reads, small enough to change in a test. */
function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'stack-cache-project-'));
  mkdirSync(join(root, 'lib'));
  mkdirSync(join(root, 'lambdas/edge'), { recursive: true });
  writeFileSync(join(root, 'lib/stack.ts'), 'export const stack = 1;\n');
  writeFileSync(join(root, 'lambdas/edge/viewer.ts'), 'export const edge = 1;\n');
  writeFileSync(join(root, 'cdk.json'), '{"context":{}}\n');
  return root;
}

/** A stand-in for synthesizeLocalStack that counts its calls and writes the realm where the stack does. */
function countingSynthesis() {
  const calls: Record<string, unknown>[] = [];
  const synthesize = async (tableName: string, context: Record<string, unknown>) => {
    calls.push(context);
    return {
      definition: { Comment: tableName },
      functionByArn: {},
      stateMachineArn: 'arn:local',
      environments: {
        api: { getHealth: { MPP_REALM: String(context['storefront:realm']) } },
        workflow: {},
        sweeper: {},
      },
    } as unknown as SynthesizedStack;
  };
  return { synthesize, calls };
}

describe('the synthesised stack kept between starts (npm start)', () => {
  it('changes its key with any file of lib/ or lambdas/, a file added there, or cdk.json', () => {
    const root = project();
    const first = synthesisInputsHash(root);
    expect(synthesisInputsHash(root)).toBe(first);
    writeFileSync(join(root, 'lib/stack.ts'), 'export const stack = 2;\n');
    const afterLib = synthesisInputsHash(root);
    expect(afterLib).not.toBe(first);
    writeFileSync(join(root, 'lambdas/edge/origin.ts'), 'export const origin = 1;\n');
    const afterAdded = synthesisInputsHash(root);
    expect(afterAdded).not.toBe(afterLib);
    writeFileSync(join(root, 'cdk.json'), '{"context":{"storefront:retentionDays":7}}\n');
    expect(synthesisInputsHash(root)).not.toBe(afterAdded);
  });

  it('synthesises each configuration once, gives each start its own realm, and again after a change', async () => {
    const root = project();
    const directory = mkdtempSync(join(tmpdir(), 'stack-cache-'));
    const { synthesize, calls } = countingSynthesis();
    const kept = keptSynthesis(directory, { synthesize, root });

    const first = await kept('table', { 'storefront:realm': '127.0.0.1:3000' });
    expect(kept.lastOutcome).toBe('synthesised');
    expect(first.environments.api.getHealth?.MPP_REALM).toBe('127.0.0.1:3000');
    // Another start (another process: a new function) on another port reads the kept stack.
    const again = keptSynthesis(directory, { synthesize, root });
    const second = await again('table', { 'storefront:realm': '127.0.0.1:4000' });
    expect(again.lastOutcome).toBe('kept');
    expect(second.environments.api.getHealth?.MPP_REALM).toBe('127.0.0.1:4000');
    expect(calls).toHaveLength(1);
    // The stack is built from the realm's stand-in, never from a start's own port.
    expect(calls[0]?.['storefront:realm']).not.toBe('127.0.0.1:3000');

    await kept('table', { 'storefront:realm': '127.0.0.1:3000', 'storefront:testPayments': false });
    expect(kept.lastOutcome).toBe('synthesised');
    await kept('another-table', { 'storefront:realm': '127.0.0.1:3000' });
    expect(kept.lastOutcome).toBe('synthesised');

    writeFileSync(join(root, 'lib/stack.ts'), 'export const stack = 3;\n');
    await kept('table', { 'storefront:realm': '127.0.0.1:3000' });
    expect(kept.lastOutcome).toBe('synthesised');
    expect(calls).toHaveLength(4);
    expect(readdirSync(directory).filter((name) => name.endsWith('.json'))).toHaveLength(4);
  });

  it('synthesises again when a kept file cannot be read', async () => {
    const root = project();
    const directory = mkdtempSync(join(tmpdir(), 'stack-cache-'));
    const { synthesize, calls } = countingSynthesis();
    const kept = keptSynthesis(directory, { synthesize, root });
    await kept('table', {});
    for (const name of readdirSync(directory)) writeFileSync(join(directory, name), '{"trunc');
    const stack = await kept('table', {});
    expect(kept.lastOutcome).toBe('synthesised');
    expect(stack.stateMachineArn).toBe('arn:local');
    expect(calls).toHaveLength(2);
  });
});
