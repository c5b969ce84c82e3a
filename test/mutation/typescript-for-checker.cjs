// TypeScript as Stryker's checker sees it (checker-preload.mjs): the same compiler, with two
// costs of its watch builder taken out. Each mutant it checks is a rebuild, and the builder
// keeps no program between rebuilds when it does not emit (the checker turns `incremental`
// off), so every rebuild parsed all ~2,700 files again, ~400,000 lines of declarations from
// node_modules, and waited out a 250 ms debounce first: about 3 s per check, most of a full
// mutation run. Here a file under node_modules, which no mutant changes, is parsed once and
// its syntax tree reused, as `tsc --watch` reuses the trees of unchanged files; the mutated
// sources outside node_modules are read and parsed afresh every time. The debounce batches
// edits saved one after another in an editor; the checker applies a mutant's edits together
// before it waits, so the rebuild starts at once. The verdicts are the same: a full run with
// and without this module set aside the same 548 of 1270 mutants as compile errors.
const ts = require('typescript');

const parsedOnce = new Map();
const PARSED_ONCE = Symbol('parsedOnce');

/** A CompilerHost getSourceFile that parses each file under node_modules once per process. */
const parsingDependenciesOnce = (getSourceFile) => {
  if (getSourceFile[PARSED_ONCE]) return getSourceFile;
  const cached = function (fileName, languageVersionOrOptions, ...rest) {
    if (!fileName.includes('/node_modules/')) {
      return getSourceFile.call(this, fileName, languageVersionOrOptions, ...rest);
    }
    const options =
      typeof languageVersionOrOptions === 'object'
        ? languageVersionOrOptions
        : { languageVersion: languageVersionOrOptions };
    const key = [
      fileName,
      options.languageVersion,
      options.impliedNodeFormat,
      options.jsDocParsingMode,
    ].join('|');
    let file = parsedOnce.get(key);
    if (!file) {
      file = getSourceFile.call(this, fileName, languageVersionOrOptions, ...rest);
      if (file) parsedOnce.set(key, file);
    }
    return file;
  };
  cached[PARSED_ONCE] = true;
  return cached;
};

const createSolutionBuilderWithWatchHost = (system, createProgram, ...rest) =>
  ts.createSolutionBuilderWithWatchHost(
    {
      ...system,
      setTimeout: (callback, ms, timerName, ...args) =>
        system.setTimeout(
          callback,
          timerName === 'timerToBuildInvalidatedProject' ? 0 : ms,
          timerName,
          ...args,
        ),
    },
    (rootNames, options, host, ...more) => {
      // The builder swaps its host's getSourceFile for a cached one during each build and
      // back after it, so the wrapper goes on again before every program.
      if (host) host.getSourceFile = parsingDependenciesOnce(host.getSourceFile);
      return (createProgram ?? ts.createEmitAndSemanticDiagnosticsBuilderProgram)(
        rootNames,
        options,
        host,
        ...more,
      );
    },
    ...rest,
  );

// TypeScript's exports are getters that cannot be redefined: copy them, then replace one.
const descriptors = Object.getOwnPropertyDescriptors(ts);
for (const descriptor of Object.values(descriptors)) descriptor.configurable = true;
module.exports = Object.defineProperties({}, descriptors);
Object.defineProperty(module.exports, 'createSolutionBuilderWithWatchHost', {
  enumerable: true,
  value: createSolutionBuilderWithWatchHost,
});
