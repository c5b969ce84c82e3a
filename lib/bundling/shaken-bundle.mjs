/**
 * Rebundles a function with one esbuild plugin that the CDK's NodejsFunction (which drives the
 * esbuild command line) cannot take: inlineSdkSchemaKeys. Run by the function's afterBundling
 * hook (lib/node-function.ts) with the same options, it replaces the bundle NodejsFunction wrote.
 *
 *   node lib/bundling/shaken-bundle.mjs <entry> <output directory> <options as base64 JSON>
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

/**
 * AWS SDK v3 clients describe their shapes in one module of schema arrays whose object keys are
 * computed from module constants (`{ [_xN]: _TSa }` with `const _xN = "xmlName"`). esbuild
 * cannot prove such keys free of side effects, so it keeps every schema of the service: EC2's
 * 540 KiB, whichever three commands a function sends. Writing the constants' string values in
 * place of the computed keys changes nothing at run time (the keys are those same strings)
 * and lets esbuild drop the schemas nothing uses.
 */
export const inlineSdkSchemaKeys = {
  name: 'inline-sdk-schema-keys',
  setup(build) {
    build.onLoad({ filter: /[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const constants = new Map();
      for (const match of source.matchAll(/^const (_\w+) = ("[^"\\\n]*");$/gm)) {
        constants.set(match[1], match[2]);
      }
      const contents = source.replace(/\[(_\w+)\]:/g, (key, name) =>
        constants.has(name) ? `${constants.get(name)}:` : key,
      );
      return { contents, loader: 'js' };
    });
  },
};

/**
 * zod's locales (error messages in 60 languages, 260 KiB minified) are kept whole in any
 * bundle that takes mppx, whose zod module re-exports all of `zod/mini` through one namespace
 * object. The storefront's messages are English, its own: every other locale becomes a
 * function that says it was left out, so nothing that is used changes.
 */
export const englishZodLocalesOnly = {
  name: 'english-zod-locales-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const contents = source.replace(
        /^export \{ default as (\w+) \} from "\.\/[\w-]+\.js";$/gm,
        (line, name) =>
          name === 'en'
            ? line
            : `export const ${name} = () => { throw new Error('zod locale ${name} is not bundled'); };`,
      );
      return { contents, loader: 'js' };
    });
  },
};

const [entry, outputDirectory, encodedOptions] = process.argv.slice(2);
if (entry && outputDirectory && encodedOptions) {
  const options = JSON.parse(Buffer.from(encodedOptions, 'base64').toString('utf8'));
  await esbuild.build({
    entryPoints: [entry],
    outfile: join(outputDirectory, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    target: options.target,
    mainFields: options.mainFields,
    external: options.external,
    banner: { js: options.banner },
    plugins: [inlineSdkSchemaKeys, englishZodLocalesOnly],
    logLevel: 'warning',
  });
}
