// npm run bench [-- name…]: runs every bench/*.bench.ts in its own process (so one suite's heap
// and JIT state never skew another's), collects the Markdown section each prints on stdout, and
// writes docs/BENCHMARKS.md headed by the Node version and machine. Progress goes to stderr.
import { readdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';

const dir = new URL('.', import.meta.url).pathname;
const out = new URL('../docs/BENCHMARKS.md', import.meta.url).pathname;
const only = process.argv.slice(2);
const suites = readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).sort()
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)));

const sections = new Map<string, string>();
// Keep earlier sections of suites not run this time, so a partial run does not erase them.
if (existsSync(out) && only.length > 0) {
  const text = readFileSync(out, 'utf8');
  for (const m of text.matchAll(/<!-- suite:(\S+) -->\n([\s\S]*?)<!-- \/suite -->/g)) sections.set(m[1]!, m[2]!);
}
let failed = false;
for (const f of suites) {
  const name = f.replace(/\.bench\.ts$/, '');
  process.stderr.write(`bench: ${name}…\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', `${dir}${f}`], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    failed = true;
    process.stderr.write(`bench: ${name} failed with status ${r.status}\n`);
    continue;
  }
  sections.set(name, r.stdout.trim() + '\n');
  process.stdout.write(r.stdout);
}
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const header = `# Benchmarks

Written by \`npm run bench\` — do not edit by hand. Every figure below comes from one run in
which ctxkit and the platform primitive or peer library it is compared with ran side by side in
the same process.

- Node ${process.version} (V8 ${process.versions.v8}), ${os.platform()} ${os.arch()}
- ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB
- Run at ${new Date().toISOString()}

`;
const body = [...sections].sort(([a], [b]) => a.localeCompare(b))
  .map(([name, text]) => `<!-- suite:${name} -->\n${text}<!-- /suite -->`).join('\n\n');
writeFileSync(out, header + body + '\n');
process.stderr.write(`bench: wrote ${out}\n`);
process.exit(failed ? 1 : 0);
