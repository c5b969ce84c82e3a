import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { cdkJsonContext, readConfig } from '../../lib/config.js';
import { StorefrontStack } from '../../lib/storefront-stack.js';

/**
 * The production stack, configured from cdk.json plus overrides, without bundling the
 * functions (the CDK synth test bundles them for real).
 */
export function storefrontStack(overrides: Record<string, unknown> = {}) {
  const context = { ...cdkJsonContext(), ...overrides };
  const app = new App({
    context: { ...context, 'aws:cdk:bundling-stacks': [] },
    outdir: mkdtempSync(join(tmpdir(), 'storefront-cdk-')),
  });
  const stack = new StorefrontStack(app, 'TestStorefront', { config: readConfig(context) });
  let template: Template | undefined;
  return {
    app,
    stack,
    /** Synthesises on first use, so a test may still change the tree before. */
    get template() {
      template ??= Template.fromStack(stack);
      return template;
    },
  };
}

export type Resources = Record<
  string,
  { Type: string; Properties?: Record<string, unknown>; [key: string]: unknown }
>;

export function resourcesOf(template: Template, type?: string): Resources {
  const all = template.toJSON().Resources as Resources;
  return Object.fromEntries(
    Object.entries(all).filter(([, resource]) => !type || resource.Type === type),
  );
}
