import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import ts from 'typescript';

/**
 * The layers of the code, bottom first, and what each may import besides itself. This is the
 * one place the layering is written down; an import it does not list is an upward edge.
 *
 * - core: the domain, pure; use-cases: what the API and the workflow do with it.
 * - contract, http, adapters: the public contract, the shared middleware, the only code that
 *   talks to AWS and mppx. None of them knows a function.
 * - runtime: the composition roots (environment, parts, entries) every function is built with.
 * - api, workflow, sweeper, edge, operator: the functions' own folders. A module in one is that
 *   function's business: no other function, runtime, adapter or core module imports it.
 * - lib: the CDK app; it reads facts from the functions it deploys (schemas, table design).
 * - local: the local storefront, which runs the functions and the synthesised stack.
 * - bin: entry points, free to import anything.
 */
const FUNCTIONS = ['api', 'workflow', 'sweeper', 'edge', 'operator', 'abuse'] as const;
const BELOW_FUNCTIONS = ['core', 'use-cases', 'contract', 'http', 'adapters', 'runtime'] as const;
const LAYERS: Record<string, { folder: string; mayImport: readonly string[] }> = {
  core: { folder: 'lambdas/core', mayImport: [] },
  'use-cases': { folder: 'lambdas/core/use-cases', mayImport: ['core'] },
  contract: { folder: 'lambdas/contract', mayImport: ['core'] },
  http: { folder: 'lambdas/http', mayImport: ['core', 'use-cases', 'contract'] },
  adapters: { folder: 'lambdas/adapters', mayImport: ['core'] },
  runtime: {
    folder: 'lambdas/runtime',
    mayImport: ['core', 'use-cases', 'contract', 'http', 'adapters'],
  },
  ...Object.fromEntries(
    FUNCTIONS.map((name) => [name, { folder: `lambdas/${name}`, mayImport: BELOW_FUNCTIONS }]),
  ),
  lib: { folder: 'lib', mayImport: [...BELOW_FUNCTIONS, ...FUNCTIONS] },
  local: { folder: 'lambdas/local', mayImport: [...BELOW_FUNCTIONS, ...FUNCTIONS, 'lib'] },
  bin: { folder: 'bin', mayImport: [...BELOW_FUNCTIONS, ...FUNCTIONS, 'lib', 'local'] },
};

const ROOTS = ['lambdas', 'lib', 'bin'];

/** Every source file under a folder (TypeScript and the bundling script), recursively. */
const sources = (folder: string): string[] =>
  readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(folder, entry.name))
      : /\.(ts|mjs)$/.test(entry.name)
        ? [join(folder, entry.name)]
        : [],
  );

/** The file a relative specifier names: `./x.js` is the source `./x.ts`. */
function resolve(from: string, specifier: string): string | undefined {
  const target = normalize(join(dirname(from), specifier));
  const candidates = [target.replace(/\.js$/, '.ts'), target, `${target}.ts`];
  return candidates.find((candidate) => existsSync(candidate));
}

/** Each file's imports of other files of the project (type-only imports included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of ROOTS.flatMap(sources)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles
      .map((reference) => reference.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => resolve(file, specifier))
      .filter((target): target is string => target !== undefined && /\.(ts|mjs)$/.test(target));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The deepest layer whose folder holds the file. */
function layerOf(file: string): string | undefined {
  let found: { name: string; depth: number } | undefined;
  for (const [name, { folder }] of Object.entries(LAYERS)) {
    if (!file.startsWith(`${folder}/`)) continue;
    const depth = folder.split('/').length;
    if (!found || depth > found.depth) found = { name, depth };
  }
  return found?.name;
}

/** The import circles, each written as one path back to its start (Tarjan's components). */
function cycles(graph: Map<string, string[]>): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node) as number);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfImport = (graph.get(node) ?? []).includes(node);
      if (component.length > 1 || selfImport) components.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return components.map((component) => {
    // The shortest way from the component's first file back to itself, inside the component.
    const start = component[0] as string;
    const previous = new Map<string, string>();
    const queue = [start];
    while (queue.length) {
      const node = queue.shift() as string;
      for (const next of graph.get(node) ?? []) {
        if (!component.includes(next) || previous.has(next)) continue;
        previous.set(next, node);
        if (next === start) queue.length = 0;
        else queue.push(next);
      }
    }
    const way: string[] = [];
    for (let node = previous.get(start); node && node !== start; node = previous.get(node)) {
      way.unshift(node);
    }
    const others = component.filter((file) => file !== start && !way.includes(file));
    return `${[start, ...way, start].join(' > ')}${others.length ? ` (same circle: ${others.join(', ')})` : ''}`;
  });
}

/** Imports the layering does not allow: a layer reaching up, or into another function. */
function upwardEdges(graph: Map<string, string[]>): string[] {
  const edges: string[] = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    for (const target of targets) {
      const to = layerOf(target);
      if (!from || !to || from === to) continue;
      if (!LAYERS[from]?.mayImport.includes(to))
        edges.push(`${file} > ${target} (${from} > ${to})`);
    }
  }
  return edges.sort();
}

describe('the import graph of lambdas/, lib/ and bin/', () => {
  const graph = importGraph();

  it('reads every source file and places it in a layer', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect([...graph.keys()].filter((file) => !layerOf(file))).toEqual([]);
  });

  it('has no import circle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('has no upward edge', () => {
    expect(upwardEdges(graph)).toEqual([]);
  });

  it('finds a circle and an upward edge where there is one', () => {
    const planted = new Map([
      ['lambdas/core/a.ts', ['lambdas/core/b.ts']],
      ['lambdas/core/b.ts', ['lambdas/core/a.ts', 'lambdas/runtime/c.ts']],
      ['lambdas/runtime/c.ts', []],
    ]);
    expect(cycles(planted)).toEqual(['lambdas/core/a.ts > lambdas/core/b.ts > lambdas/core/a.ts']);
    expect(upwardEdges(planted)).toEqual([
      'lambdas/core/b.ts > lambdas/runtime/c.ts (core > runtime)',
    ]);
  });
});
