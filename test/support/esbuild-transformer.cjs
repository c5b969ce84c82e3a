// Jest's transformer for the project's TypeScript: esbuild strips the types of one file at a
// time (the project is `isolatedModules`), as ts-jest's transpile-only mode did, at a small
// fraction of its cost on a cold cache (a fresh CI machine transforms every file once per
// run). Types are checked by `npm run typecheck`, not here. Loaded by Jest itself, outside
// its module mapping, so it is plain CommonJS.
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const esbuild = require('esbuild');

/** The compiler options esbuild honours (target, class fields, verbatimModuleSyntax…). */
const tsconfigRaw = {
  compilerOptions: JSON.parse(readFileSync(join(__dirname, '../../tsconfig.json'), 'utf8'))
    .compilerOptions,
};
const configKey = JSON.stringify([esbuild.version, tsconfigRaw]);

module.exports = {
  getCacheKey(source, path, options) {
    return createHash('sha256')
      .update(configKey)
      .update(String(options.supportsStaticESM))
      .update(path)
      .update(source)
      .digest('hex');
  },
  process(source, path, options) {
    const { code, map } = esbuild.transformSync(source, {
      loader: 'ts',
      format: options.supportsStaticESM ? 'esm' : 'cjs',
      target: 'node20',
      sourcemap: 'external',
      sourcesContent: false,
      sourcefile: path,
      tsconfigRaw,
    });
    return { code, map };
  },
};
