// Loaded into Stryker's TypeScript checker process (stryker.config.mjs, checkerNodeArgs): its
// `import ts from 'typescript'` then gets the TypeScript of typescript-for-checker.cjs.
import { register } from 'node:module';

register('./checker-hooks.mjs', import.meta.url);
