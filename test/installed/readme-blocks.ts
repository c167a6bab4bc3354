// Finds the TypeScript examples in a README and the directive that says how each is checked.
//
// A README's ```ts block that contains an `import` is a complete example and must be preceded
// (on the line before the fence, blank lines allowed) by an HTML comment directive, invisible on
// GitHub, telling the installed-packages test how a user would run it:
//
//   <!-- example: run -->                    run with node; must exit 0
//   <!-- example: node-test -->              run with `node --test`; must pass
//   <!-- example: vitest -->                 run with `vitest run`; must pass
//   <!-- example: serve GET /path 200 -->    run; once it listens (on the port it names), GET /path
//                                            must answer 200; then it is stopped
//   <!-- example: serve:2 GET /path 200 -->  as serve, waiting for the 2nd server to listen and
//                                            sending the request to it
//   <!-- example: typecheck -->              type-checked and linted only (it needs the reader's code)
//
// Every complete example is also type-checked (tsc --strict, module nodenext) and linted with
// ctxkit-lint. Blocks without an import are fragments of an API description and are not checked.
import { readFileSync } from 'node:fs';

/** How a complete README example is exercised. */
export type ExampleCheck =
  | { readonly mode: 'run' }
  | { readonly mode: 'node-test' }
  | { readonly mode: 'vitest' }
  | { readonly mode: 'typecheck' }
  | { readonly mode: 'serve'; readonly servers: number; readonly method: string; readonly path: string; readonly status: number };

/** One complete example found in a README. */
export interface ReadmeExample {
  /** The README the example came from, relative to the repository root. */
  readonly readme: string;
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
  readonly code: string;
  readonly check: ExampleCheck;
}

const directive = /^<!--\s*example:\s*(.*?)\s*-->$/;

function parseCheck(text: string, where: string): ExampleCheck {
  const words = text.split(/\s+/);
  const head = words[0] ?? '';
  if (head === 'run' || head === 'node-test' || head === 'vitest' || head === 'typecheck') {
    if (words.length !== 1) throw new Error(`${where}: "${head}" takes no arguments, got "${text}"`);
    return { mode: head };
  }
  const serve = /^serve(?::(\d+))?$/.exec(head);
  if (serve !== null) {
    const [, method, path, status] = words;
    if (
      words.length !== 4 ||
      method === undefined ||
      path === undefined ||
      status === undefined ||
      !/^\d{3}$/.test(status) ||
      !path.startsWith('/')
    ) {
      throw new Error(`${where}: expected "serve[:N] METHOD /path STATUS", got "${text}"`);
    }
    return { mode: 'serve', servers: Number(serve[1] ?? 1), method, path, status: Number(status) };
  }
  throw new Error(`${where}: unknown example directive "${text}" (run, node-test, vitest, serve, typecheck)`);
}

/**
 * The complete examples of `readmePath` (absolute), each with its check. Throws, naming the README
 * and line, when a complete example has no directive or a directive is malformed.
 */
export function readmeExamples(readmePath: string, readmeName: string): ReadmeExample[] {
  const lines = readFileSync(readmePath, 'utf8').split('\n');
  const out: ReadmeExample[] = [];
  let pending: { text: string; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const d = directive.exec(line.trim());
    if (d !== null) {
      pending = { text: d[1] ?? '', line: i + 1 };
      continue;
    }
    if (/^```/.test(line)) {
      const lang = line.slice(3).trim().split(/\s+/)[0] ?? '';
      const start = i;
      const body: string[] = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ''); i++) body.push(lines[i] ?? '');
      const code = `${body.join('\n')}\n`;
      const where = `${readmeName}:${start + 1}`;
      if ((lang === 'ts' || lang === 'typescript') && /^import\s/m.test(code)) {
        if (pending === undefined) throw new Error(`${where}: a complete example without an <!-- example: … --> directive before it`);
        out.push({ readme: readmeName, line: start + 1, code, check: parseCheck(pending.text, where) });
      } else if (pending !== undefined) {
        throw new Error(`${readmeName}:${pending.line}: an example directive before a block that is not a complete TypeScript example`);
      }
      pending = undefined;
      continue;
    }
    if (pending !== undefined && line.trim() !== '') {
      throw new Error(`${readmeName}:${pending.line}: an example directive not followed by a code block`);
    }
  }
  return out;
}
