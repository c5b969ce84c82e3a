import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** One Lambda function of a synthesised template, with the esbuild bundle `cdk synth` wrote for it. */
export interface SynthesizedBundle {
  logicalId: string;
  /** The construct path, e.g. `…/Functions/health/Resource`. */
  constructPath: string;
  /** A short name: the operationId, or the workflow function's construct id. */
  name: string;
  /** The bundle Lambda runs: `<asset directory>/<module>.mjs`. */
  file: string;
  /** The exported handler name (`index.handler` → `handler`). */
  exportName: string;
  bytes: number;
  /** The environment as the template sets it (values may be CloudFormation intrinsics). */
  environment: Record<string, unknown>;
}

interface TemplateFunction {
  Type: string;
  Properties: {
    Code?: { S3Key?: unknown };
    Handler?: string;
    Environment?: { Variables?: Record<string, unknown> };
  };
  Metadata?: Record<string, unknown>;
}

/**
 * The bundles of every function in a cdk.out directory, found as the deployment finds them:
 * each function's Code.S3Key names its asset (`<hash>.zip`), and the asset manifest says
 * which directory of cdk.out that asset is packaged from.
 */
export function synthesizedBundles(outDir: string, stackName: string): SynthesizedBundle[] {
  const template = JSON.parse(readFileSync(join(outDir, `${stackName}.template.json`), 'utf8')) as {
    Resources: Record<string, TemplateFunction>;
  };
  const assets = JSON.parse(readFileSync(join(outDir, `${stackName}.assets.json`), 'utf8')) as {
    files: Record<string, { source: { path: string; packaging?: string } }>;
  };
  const bundles: SynthesizedBundle[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const key = resource.Properties.Code?.S3Key;
    // Inline or custom-resource code that CDK does not bundle from our sources.
    if (typeof key !== 'string' || !key.endsWith('.zip')) continue;
    const asset = assets.files[key.slice(0, -'.zip'.length)];
    if (!asset) throw new Error(`${logicalId}: no asset ${key} in the asset manifest`);
    const [module, exportName] = (resource.Properties.Handler ?? 'index.handler').split('.');
    const file = join(outDir, asset.source.path, `${module}.mjs`);
    if (!existsSync(file)) continue; // not one of ours (a CommonJS custom resource provider)
    const constructPath = String(resource.Metadata?.['aws:cdk:path'] ?? logicalId);
    const segments = constructPath.split('/');
    bundles.push({
      logicalId,
      constructPath,
      name: segments.at(-2) ?? logicalId,
      file,
      exportName: exportName ?? 'handler',
      bytes: statSync(file).size,
      environment: resource.Properties.Environment?.Variables ?? {},
    });
  }
  return bundles;
}

/** Cold start budget by bundle size: health and discovery are the storefront's front page. */
export const BUNDLE_LIMITS = {
  light: { names: ['health', 'getDiscoveryDocument'], bytes: 300 * 1024 },
  /** 1 MiB. */
  other: { bytes: 1024 * 1024 },
} as const;

export const bundleLimit = (name: string): number =>
  (BUNDLE_LIMITS.light.names as readonly string[]).includes(name)
    ? BUNDLE_LIMITS.light.bytes
    : BUNDLE_LIMITS.other.bytes;
