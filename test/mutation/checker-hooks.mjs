// Module resolution hook of the checker process (checker-preload.mjs): every import of
// `typescript` but the one inside typescript-for-checker.cjs gets that module. It requires the
// real TypeScript with `require`, which these hooks do not reach.
const typescriptForChecker = new URL('./typescript-for-checker.cjs', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'typescript' && context.parentURL !== typescriptForChecker) {
    return { url: typescriptForChecker, format: 'commonjs', shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
