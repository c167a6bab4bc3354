/**
 * The `ctxkit-lint` command (see cli.ts for the executable): runs the recommended ctxkit rules on a project that has no ESLint
 * configuration of its own (any eslint.config.* is ignored). Prints findings; exits 0 when
 * there are none, 1 when there are findings, 2 on bad usage or files that could not be parsed.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ESLint } from 'eslint';
import { standaloneConfig } from './config.js';

const USAGE = `Usage: ctxkit-lint [options] [paths…]

Lints TypeScript (with type information from the nearest tsconfig.json of each file) and
JavaScript for broken cancellation propagation, with the recommended @ctxkit/eslint-plugin rules.
Paths default to the current directory; node_modules, dist, build and *.d.ts are skipped.

Options:
  --format <name>   ESLint formatter (stylish, json, …). Default: stylish
  --root <dir>      Project root. Default: the current directory
  --no-types        Do not use type information (faster, finds less)
  -h, --help        Show this help
  -v, --version     Show the version

Exit status: 0 no findings, 1 findings, 2 usage error or unparseable files.`;

/** Runs the CLI with `argv` (without node and script); resolves to the exit status. */
export async function main(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string', default: 'stylish' },
        root: { type: 'string' },
        'no-types': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (e) {
    err.write(`ctxkit-lint: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out.write(USAGE + '\n');
    return 0;
  }
  if (values.version) {
    out.write('0.1.0\n');
    return 0;
  }
  const root = resolve(values.root ?? process.cwd());
  if (!existsSync(root)) {
    err.write(`ctxkit-lint: --root ${root} does not exist\n`);
    return 2;
  }
  let typed = !values['no-types'];
  if (typed && !existsSync(resolve(root, 'tsconfig.json'))) {
    err.write(
      `ctxkit-lint: no tsconfig.json in ${root}; linting without type information.\n` +
        `  The rules then recognise contexts by syntax only (annotations Context/AbortSignal, parameters named ctx/signal).\n` +
        `  Add a tsconfig.json (or pass --root <dir with one>) for full results.\n`,
    );
    typed = false;
  }
  const paths = positionals.length > 0 ? positionals : ['.'];
  const eslint = new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: standaloneConfig({ root, typed }) as ESLint.Options['overrideConfig'],
    errorOnUnmatchedPattern: false,
  });
  let results: ESLint.LintResult[];
  try {
    results = await eslint.lintFiles(paths);
  } catch (e) {
    err.write(`ctxkit-lint: ${(e as Error).message}\n`);
    return 2;
  }
  if (results.length === 0) {
    err.write(`ctxkit-lint: no files to lint in ${paths.join(', ')}\n`);
    return 2;
  }
  let formatter;
  try {
    formatter = await eslint.loadFormatter(values.format);
  } catch (e) {
    err.write(`ctxkit-lint: unknown --format ${values.format}: ${(e as Error).message}\n`);
    return 2;
  }
  const text = await formatter.format(results);
  if (text) out.write(text.endsWith('\n') ? text : text + '\n');
  const fatal = results.reduce((n, r) => n + r.fatalErrorCount, 0);
  const findings = results.reduce((n, r) => n + r.errorCount + r.warningCount, 0) - fatal;
  if (fatal > 0) {
    err.write(
      `ctxkit-lint: ${fatal} file(s) could not be parsed (see above); a file outside every tsconfig.json "include" cannot be type-checked.\n`,
    );
    return 2;
  }
  if (findings === 0 && values.format === 'stylish') err.write(`ctxkit-lint: ${results.length} file(s), no findings\n`);
  return findings > 0 ? 1 : 0;
}
