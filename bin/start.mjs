/**
 * npm start: runs bin/local-storefront.ts (see there for the options) with plain Node.
 *
 * The local storefront is about 200 TypeScript modules over a thousand modules of
 * dependencies. Through tsx's loader, which resolves and loads every module through hooks on a
 * thread of its own, loading them took about twice as long as Node alone; and Node alone spent
 * most of a start resolving, reading and lexing the dependencies' modules one by one. So
 * `npm start` bundles the project's modules and its dependencies with esbuild (the CDK, only
 * loaded to synthesise the stack, stays an import) and runs the bundle with plain Node.
 * The bundle is kept in .cache/local-storefront/ (git-ignored, kept across `npm ci`, which
 * builds it: the `prepare` script runs `--warm-up`) and used again only while every project
 * file it was built from (and the folders they sit in, tsconfig.json, package.json,
 * package-lock.json, esbuild and this file) is unchanged, checked by content at each start
 * (a few milliseconds); otherwise it is built again.
 *
 * Each module's `import.meta.url` stays its own source file's URL (the files it finds beside
 * itself: cdk.json, the DynamoDB worker), and the project's CDK code, only loaded when the
 * stack is synthesised, stays a chunk of its own that is loaded then.
 */
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundleFolder = join(root, '.cache/local-storefront/bundle');
const entry = join(root, 'bin/local-storefront.ts');

/** Every source file as esbuild read it (path relative to the root → content), for the hash. */
const read = new Map();

const LOADERS = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.json': 'json',
};

/**
 * Loads each source for esbuild, recording what it read, and gives `import.meta.url` the
 * source file's own URL, whatever file the bundle is written to: each module that reads it
 * gets its own URL as a constant (`define` below replaces the expression itself, never the
 * text in a string or comment).
 */
const OWN_URL = '__ownImportMetaUrl';
const sources = {
  name: 'sources',
  setup(builder) {
    builder.onLoad({ filter: /.*/ }, async (args) => {
      const loader = LOADERS[extname(args.path)];
      if (!loader) throw new Error(`no loader for ${args.path}`);
      const source = await readFile(args.path, 'utf8');
      // Dependencies change only with package-lock.json, which the hash covers whole.
      if (!args.path.includes(`${sep}node_modules${sep}`))
        read.set(relative(root, args.path), source);
      return {
        // On the first line, so the source map's lines stay the source's.
        contents: source.includes('import.meta.url')
          ? `const ${OWN_URL} = ${JSON.stringify(pathToFileURL(args.path).href)}; ${source}`
          : source,
        loader,
        resolveDir: dirname(args.path),
      };
    });
  },
};

const manifestFile = join(bundleFolder, 'manifest.json');

/**
 * A hash of everything the bundle is built from: this file (the build's options), esbuild's
 * version, the project's tsconfig.json and package.json, every source file esbuild read
 * (`[path, content]`, as read) and the listing of each folder they sit in (a file added
 * beside them can change what an import resolves to).
 */
function sourcesHash(inputs) {
  const hash = createHash('sha256');
  const esbuild = JSON.parse(readFileSync(join(root, 'node_modules/esbuild/package.json'), 'utf8'));
  hash.update(`esbuild ${esbuild.version}\n`);
  const settings = [
    fileURLToPath(import.meta.url),
    join(root, 'tsconfig.json'),
    join(root, 'package.json'),
    join(root, 'package-lock.json'),
  ];
  for (const [path, content] of [
    ...settings.map((file) => [relative(root, file), readFileSync(file, 'utf8')]),
    ...inputs,
  ]) {
    hash.update(`${path}\n${content.length}\n`).update(content);
  }
  for (const folder of [...new Set(inputs.map(([path]) => dirname(join(root, path))))].sort())
    hash.update(`${relative(root, folder)}/\n${readdirSync(folder).sort().join('\n')}\n`);
  return hash.digest('hex');
}

/** The bundle an earlier start built from these very sources, if it is still there. */
function keptBundle() {
  try {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    const now = manifest.inputs.map((path) => [path, readFileSync(join(root, path), 'utf8')]);
    if (manifest.key !== sourcesHash(now)) return undefined;
    const touched = new Date();
    // Touched: in use, however old (older unused bundles are removed below).
    for (const name of manifest.outputs) utimesSync(join(bundleFolder, name), touched, touched);
    return join(bundleFolder, manifest.entry);
  } catch {
    // No bundle yet, one of other sources, or one partly removed: built again.
    return undefined;
  }
}

async function buildBundle() {
  const { build } = await import('esbuild');
  const { outputFiles } = await build({
    entryPoints: { 'local-storefront': entry },
    absWorkingDir: root,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Dependencies are bundled too: loaded one by one, Node spent most of the start resolving,
    // reading and (for CommonJS) lexing about a thousand modules. Left out: what only the
    // stack's synthesis loads (the CDK, in a chunk of its own), and an import mppx makes only
    // for MCP transports, which is not installed.
    external: ['aws-cdk-lib', 'constructs', 'esbuild', '@modelcontextprotocol/sdk'],
    // CommonJS dependencies call require() for Node's own modules; an ES module has none.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    keepNames: true,
    sourcemap: 'linked',
    outdir: bundleFolder,
    entryNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    write: false,
    logLevel: 'warning',
    define: { 'import.meta.url': OWN_URL },
    plugins: [sources],
  });
  // Files are named by their content: one already there is this one, written by another start.
  mkdirSync(bundleFolder, { recursive: true });
  const now = new Date();
  for (const file of outputFiles) {
    try {
      utimesSync(file.path, now, now);
    } catch {
      // Written whole, then renamed: a start beside this one never reads half a file.
      const partial = `${file.path}.${process.pid}.partial`;
      writeFileSync(partial, file.contents);
      renameSync(partial, file.path);
    }
  }
  const outputs = outputFiles.map((file) => basename(file.path));
  const main = outputs.find((name) => /^local-storefront-.*\.mjs$/.test(name));
  if (!main) throw new Error('esbuild wrote no local-storefront bundle');
  const inputs = [...read].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const manifest = {
    key: sourcesHash(inputs),
    entry: main,
    outputs,
    inputs: inputs.map(([path]) => path),
  };
  const partial = `${manifestFile}.${process.pid}.partial`;
  writeFileSync(partial, JSON.stringify(manifest));
  renameSync(partial, manifestFile);
  // Bundles of older sources go after a day unused (a storefront started from one may still load it).
  const dayAgo = Date.now() - 24 * 60 * 60 * 1000;
  for (const name of readdirSync(bundleFolder)) {
    const file = join(bundleFolder, name);
    if (name !== 'manifest.json' && !outputs.includes(name) && statSync(file).mtimeMs < dayAgo)
      rmSync(file, { force: true });
  }
  return join(bundleFolder, main);
}

const bundle = keptBundle() ?? (await buildBundle());
// Stack traces name the TypeScript sources, as under tsx.
process.setSourceMapsEnabled(true);
await import(pathToFileURL(bundle).href);
