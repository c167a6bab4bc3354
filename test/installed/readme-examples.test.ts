// The packages as a user meets them: every package packed with `npm pack`, the tarballs installed
// in one `npm install` into a scratch app in a temporary folder beside the libraries they integrate
// (at the versions this repository tests), and every README's complete example copied out of the
// README, type-checked there with `tsc --strict` (module nodenext), linted with ctxkit-lint, and
// run as its directive says (see readme-blocks.ts). Also: @ctxkit/http installs alone with its
// peer @ctxkit/core in one command, and every package loads with require() from CommonJS.
// Needs the npm registry (or its cache): without it the suite is skipped with a loud line locally
// and fails under CI=true.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ReadmeExample, readmeExamples } from './readme-blocks.js';

const root = new URL('../../', import.meta.url).pathname;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const packages = ['core', 'testing', 'http', 'pg', 'eslint-plugin'] as const;
const readmes = ['README.md', ...packages.map((p) => `packages/${p}/README.md`)];

function json(path: string): Record<string, Record<string, string> | undefined> {
  return JSON.parse(readFileSync(join(root, path), 'utf8')) as Record<string, Record<string, string> | undefined>;
}

/** The integrated libraries at the versions the repository's own tests use. */
function integratedLibraries(): string[] {
  const wanted = ['express', 'fastify', 'koa', 'hono', '@hono/node-server', 'pg', '@types/pg', '@types/express', '@types/koa', 'vitest'];
  const versions: Record<string, string> = {};
  for (const p of packages) Object.assign(versions, json(`packages/${p}/package.json`)['devDependencies'] ?? {});
  const rootDev = json('package.json')['devDependencies'] ?? {};
  const plugin = json('packages/eslint-plugin/package.json')['devDependencies'] ?? {};
  versions['vitest'] ??= '^4.1.0'; // the test runner the testing README shows besides node:test
  const out = wanted.map((n) => `${n}@${versions[n] ?? 'latest'}`);
  out.push(`typescript@${rootDev['typescript']}`, `@types/node@${rootDev['@types/node']}`);
  out.push(`eslint@${plugin['eslint']}`, `typescript-eslint@${plugin['typescript-eslint']}`);
  return out;
}

function tarballs(dir: string): string[] {
  return packages.map((p) => {
    const { name, version } = json(`packages/${p}/package.json`) as unknown as { name: string; version: string };
    return join(dir, `${name.replace('@', '').replace('/', '-')}-${version}.tgz`);
  });
}

function install(cwd: string, specs: string[]): void {
  writeFileSync(join(cwd, 'package.json'), JSON.stringify({ name: 'scratch-app', version: '1.0.0', type: 'module', private: true }));
  execFileSync(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', ...specs], { cwd, stdio: 'pipe', timeout: 300_000 });
}

let work: string | undefined;
let app: string | undefined;
let unavailable: string | undefined;
const examples: ReadmeExample[] = readmes.flatMap((r) => readmeExamples(join(root, r), r));
/** The example's file name in the scratch app, without extension (Vitest only runs `*.test.*` files). */
const fileOf = (e: ReadmeExample): string =>
  `${e.readme.replace(/\/README\.md$|README\.md$/, '').replace(/[/]/g, '-') || 'root'}-L${e.line}${e.check.mode === 'vitest' ? '.test' : ''}`;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ctxkit-installed-'));
  app = join(work, 'app');
  mkdirSync(app);
  try {
    execFileSync(npm, ['pack', '-q', ...packages.flatMap((p) => ['-w', `packages/${p}`]), '--pack-destination', work], {
      cwd: root,
      stdio: 'pipe',
    });
    install(app, [...tarballs(work), ...integratedLibraries()]);
  } catch (e) {
    unavailable = `could not pack and install the packages: ${String((e as { stderr?: Buffer }).stderr ?? e).slice(0, 800)}`;
    if (process.env['CI'] === 'true') throw new Error(unavailable);
    console.warn(`\n!!! SKIPPED installed-packages README test: ${unavailable}\n`);
    return;
  }
  mkdirSync(join(app, 'examples'));
  for (const e of examples) writeFileSync(join(app, 'examples', `${fileOf(e)}.ts`), e.code);
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        outDir: 'build',
        skipLibCheck: false,
        types: ['node'],
      },
      include: ['examples/*.ts'],
    }),
  );
});

after(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

test('every README has at least one complete example with a directive', () => {
  for (const r of [
    'README.md',
    'packages/core/README.md',
    'packages/http/README.md',
    'packages/pg/README.md',
    'packages/testing/README.md',
  ]) {
    assert.ok(
      examples.some((e) => e.readme === r),
      `${r} has no complete example`,
    );
  }
});

test('the README examples type-check with tsc --strict, module nodenext, against the installed tarballs', (t) => {
  if (unavailable !== undefined) return t.skip(unavailable);
  const r = spawnSync(process.execPath, [join(app!, 'node_modules/typescript/bin/tsc'), '-p', app!, '--pretty', 'false'], {
    cwd: app,
    encoding: 'utf8',
  });
  // Declaration files are checked (skipLibCheck off) so ours are; an error inside another
  // library's own declarations (e.g. @types/koa against a newer dependency) is theirs, not ours.
  const ours = `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => /error TS\d+/.test(l) && (!l.startsWith('node_modules/') || l.startsWith('node_modules/@ctxkit/')));
  assert.deepEqual(ours, [], `tsc found errors in the README examples (file names are README-line):\n${ours.join('\n')}`);
});

test('the README examples pass ctxkit-lint', (t) => {
  if (unavailable !== undefined) return t.skip(unavailable);
  const r = spawnSync(process.execPath, [join(app!, 'node_modules/@ctxkit/eslint-plugin/dist/cli.js'), 'examples'], {
    cwd: app,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `ctxkit-lint flagged README examples (file names are README-line):\n${r.stdout}${r.stderr}`);
});

/** Runs a compiled example; resolves with its exit status and output. */
function runExample(args: string[], timeoutMs: number): Promise<{ status: number | null; out: string; child: ChildProcess }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, out, child });
    });
  });
}

/** Runs a serving example until its `servers`-th server listens, sends the request, then stops it. */
async function serveExample(js: string, e: ReadmeExample & { check: { mode: 'serve' } }): Promise<void> {
  const { servers, method, path, status } = e.check;
  const child = spawn(process.execPath, ['--import', join(root, 'test/installed/serve-shim.mjs'), js], {
    cwd: app,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d));
  try {
    const address = await new Promise<string>((resolve, reject) => {
      const seen: string[] = [];
      const timer = setTimeout(() => reject(new Error(`no server ${servers} listened within 30 s:\n${out}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d;
        for (const m of String(d).matchAll(/CTXKIT_EXAMPLE_LISTENING (\S+) (\d+)/g)) {
          const host = m[1] === '::' || m[1] === '0.0.0.0' ? '127.0.0.1' : m[1]!.includes(':') ? `[${m[1]}]` : m[1]!;
          seen.push(`${host}:${m[2]}`);
          if (seen.length === servers) {
            clearTimeout(timer);
            resolve(seen[servers - 1]!);
          }
        }
      });
      child.on('exit', (code) => reject(new Error(`the example exited (${code}) before serving:\n${out}`)));
    });
    const res = await fetch(`http://${address}${path}`, { method, signal: AbortSignal.timeout(20_000) });
    // The status is the check; a body is read only to explain a wrong one (an event stream never ends).
    if (res.status !== status) assert.fail(`${method} ${path} answered ${res.status} ${await res.text()}\n${out}`);
    await res.body?.cancel();
  } finally {
    const exited = new Promise((r) => child.once('close', r));
    child.kill('SIGTERM');
    await exited;
  }
}

describe('each README example runs as its directive says', () => {
  for (const e of examples) {
    if (e.check.mode === 'typecheck') continue;
    test(`${e.readme}:${e.line} (${e.check.mode})`, { timeout: 90_000 }, async (t) => {
      if (unavailable !== undefined) return t.skip(unavailable);
      const js = join(app!, 'build', `${fileOf(e)}.js`);
      if (e.check.mode === 'serve') return serveExample(js, e as ReadmeExample & { check: { mode: 'serve' } });
      const args =
        e.check.mode === 'node-test'
          ? ['--test', '--test-reporter=tap', js]
          : e.check.mode === 'vitest'
            ? [join(app!, 'node_modules/vitest/vitest.mjs'), 'run', `examples/${fileOf(e)}.ts`]
            : [js];
      const r = await runExample(args, 60_000);
      assert.equal(r.status, 0, `the example failed:\n${r.out}`);
    });
  }
});

test('@ctxkit/http installs alone beside its peer @ctxkit/core in one command', (t) => {
  if (unavailable !== undefined) return t.skip(unavailable);
  const alone = join(work!, 'http-alone');
  mkdirSync(alone);
  const [core, , http] = tarballs(work!);
  install(alone, [http!, core!]);
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', "import { ctxFetch } from '@ctxkit/http'; console.log(typeof ctxFetch)"],
    {
      cwd: alone,
      encoding: 'utf8',
    },
  );
  assert.equal(r.stdout.trim(), 'function', r.stderr);
});

test('every package loads with require() from CommonJS (Node ≥ 20.19)', (t) => {
  if (unavailable !== undefined) return t.skip(unavailable);
  for (const p of packages) {
    const { name } = json(`packages/${p}/package.json`) as unknown as { name: string };
    const r = spawnSync(process.execPath, ['-e', `const m = require('${name}'); console.log(Object.keys(m).length > 0)`], {
      cwd: app,
      encoding: 'utf8',
    });
    assert.equal(r.stdout.trim(), 'true', `require('${name}') failed: ${r.stderr}`);
  }
});
