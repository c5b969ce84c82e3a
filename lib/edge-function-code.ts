import { dirname, join } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { buildSync } from 'esbuild';
import { PROJECT_ROOT } from './node-function.js';

/** Lambda@Edge runs Node.js functions on x86_64 only, with no layers and no environment. */
export const EDGE_NODE_TARGET = 'node22';

/** Bundles an edge function's entry into `<outputDir>/index.mjs`, as deployed. */
export function bundleEdgeFunction(entry: string, outputDir: string): string {
  const outfile = join(outputDir, 'index.mjs');
  buildSync({
    entryPoints: [join(PROJECT_ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: EDGE_NODE_TARGET,
    minify: true,
    logLevel: 'error',
  });
  return outfile;
}

/**
 * A Lambda@Edge function's code: its TypeScript entry bundled by the local esbuild into one
 * ES module (`index.mjs`, handler `index.handler`), no Docker. The asset is hashed from the
 * entry's folder, which holds everything an edge function may import.
 */
export function edgeFunctionCode(entry: string): Code {
  const source = join(PROJECT_ROOT, entry);
  return Code.fromAsset(dirname(source), {
    assetHashType: AssetHashType.SOURCE,
    bundling: {
      // Never used: local bundling always succeeds or throws.
      image: DockerImage.fromRegistry('local-esbuild-only'),
      local: {
        tryBundle(outputDir: string) {
          bundleEdgeFunction(entry, outputDir);
          return true;
        },
      },
    },
  });
}
