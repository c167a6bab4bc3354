// npm run bench [-- [--node <path>] name…]: runs every bench/*.bench.ts (or those named) in its
// own process (so one suite's heap and JIT state never skew another's), collects the Markdown
// section each prints on stdout, and writes docs/BENCHMARKS.md. Progress goes to stderr.
//
// --node <path> runs the suites with another Node binary, e.g. the current LTS while the machine
// has an older one: `npm run bench -- --node "$(npx -y -p node@24 which node)" http`. Each section
// is kept per suite and Node major version and names the exact version it ran on, so a run on one
// Node never erases or relabels another's figures.
import { readdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import os from 'node:os';

const dir = new URL('.', import.meta.url).pathname;
const out = new URL('../docs/BENCHMARKS.md', import.meta.url).pathname;
const { values, positionals: only } = parseArgs({ options: { node: { type: 'string' } }, allowPositionals: true });
const node = values.node ?? process.execPath;

const probe = spawnSync(node, ['-p', 'JSON.stringify([process.version, process.versions.v8])'], { encoding: 'utf8' });
if (probe.status !== 0) {
  process.stderr.write(`bench: --node ${node} is not a runnable Node binary${probe.error ? ` (${probe.error.message})` : ''}\n`);
  process.exit(2);
}
const [nodeVersion, v8Version] = JSON.parse(probe.stdout) as [string, string];
const major = Number(/^v(\d+)/.exec(nodeVersion)?.[1]);

const suites = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
const unknown = only.filter((o) => !suites.some((f) => f.startsWith(o)));
if (unknown.length > 0) {
  process.stderr.write(
    `bench: no suite named ${unknown.join(', ')} (have: ${suites.map((f) => f.replace(/\.bench\.ts$/, '')).join(', ')})\n`,
  );
  process.exit(2);
}
const chosen = suites.filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)));

/** Sections by key `suite@major`; each text starts with the line naming its Node version. */
const sections = new Map<string, { suite: string; major: number; text: string }>();
if (existsSync(out)) {
  for (const m of readFileSync(out, 'utf8').matchAll(/<!-- suite:(\S+) node:(\d+) -->\n([\s\S]*?)<!-- \/suite -->/g)) {
    sections.set(`${m[1]!}@${m[2]!}`, { suite: m[1]!, major: Number(m[2]), text: m[3]! });
  }
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const machine = `${os.platform()} ${os.arch()}, ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`;
let failed = false;
for (const f of chosen) {
  const name = f.replace(/\.bench\.ts$/, '');
  process.stderr.write(`bench: ${name} on Node ${nodeVersion}…\n`);
  const r = spawnSync(node, ['--expose-gc', '--import', 'tsx', `${dir}${f}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    failed = true;
    process.stderr.write(`bench: ${name} failed with status ${r.status}\n`);
    continue;
  }
  const printed = r.stdout.trim() + '\n';
  const stamp = `\nNode ${nodeVersion} (V8 ${v8Version}) on ${machine}, run at ${new Date().toISOString()}.\n`;
  // The stamp goes right under the suite's own heading.
  const text = /^## .*\n/.test(printed) ? printed.replace(/^(## .*\n)/, `$1${stamp}`) : stamp.slice(1) + '\n' + printed;
  sections.set(`${name}@${major}`, { suite: name, major, text });
  process.stdout.write(text);
}
/** The section's heading names its Node major, so that two runs of one suite read apart in a table of contents. */
function withNodeInHeading(text: string, nodeMajor: number): string {
  return text.replace(/^(## .*?)(?: — Node \d+)?\n/, `$1 — Node ${nodeMajor}\n`);
}

const header = `# Benchmarks

Written by \`npm run bench\` — do not edit by hand. Every figure below comes from one run in
which ctxkit and the platform primitive or peer library it is compared with ran side by side in
the same process. Each section names the Node version it ran on; a suite run on several Node
versions has a section for each (\`npm run bench -- --node <path> <suite>\`).

`;
const body = [...sections.values()]
  .sort((a, b) => a.suite.localeCompare(b.suite) || a.major - b.major)
  .map((s) => `<!-- suite:${s.suite} node:${s.major} -->\n${withNodeInHeading(s.text, s.major)}<!-- /suite -->`)
  .join('\n\n');
writeFileSync(out, header + body + '\n');
process.stderr.write(`bench: wrote ${out}\n`);
process.exit(failed ? 1 : 0);
