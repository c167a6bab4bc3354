#!/usr/bin/env node
/**
 * ctxkit-lint [paths…] — lints a project that has no ESLint configuration of its own with the
 * recommended ctxkit rules. Exit status: 0 no findings, 1 findings, 2 usage error or unparseable files.
 */
import { main } from './cli-main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`ctxkit-lint: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 2;
  },
);
