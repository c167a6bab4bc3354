// CPU instructions per request of a node:http server, bare vs with contextFromRequest, counted by
// valgrind's callgrind: a count does not depend on what else the machine is doing, so it resolves
// differences (processes of one variant agree within a few hundred instructions, ~0.5 %) far
// below the req/s benches' noise (±2–3 % per round).
// What it cannot show is time: a megamorphic property load and a cache miss count alike.
// Each variant is a server process under callgrind, driven over one keep-alive connection (one
// request at a time, so every request takes the same path through the event loop) by this
// process: warm-up, the same settle step as bench/http.bench.ts (full collections while idle, each
// followed by load), more warm-up, then the counters are zeroed, N requests are made and the
// counters dumped. The young generation is fixed (16 MB semispaces): left to V8's sizing, two runs
// of the same server differed by 2× in scavenges, which moved the count by ~1,500 per request.
// Three processes per variant, and their median: now and then one process counts several
// thousand more per request (the JIT's own work, which is counted too).
// Needs valgrind (`apt-get install valgrind`); without it the section says so.
import http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { median, progress, table } from './lib.js';

const ROLE = process.env.CTXKIT_INSTR_BENCH_ROLE;
const REQUESTS = 8000;
const REPEATS = 3;
const SETTLE_CYCLES = 8;

async function runServer(variant: string): Promise<void> {
  const { contextFromRequest } = await import('@ctxkit/http');
  const handler: http.RequestListener =
    variant === 'with'
      ? (req, res) => {
          const scope = contextFromRequest(req, res);
          if (scope.ctx.err === undefined) res.end('ok');
        }
      : (_req, res) => {
          res.end('ok');
        };
  const server = http.createServer((req, res) => {
    if (req.url === '/gc') {
      (globalThis as { gc?: () => void }).gc?.();
      res.end('gc');
      return;
    }
    handler(req, res);
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
  });
}

/** `n` requests to `path`, one at a time over one keep-alive connection. */
async function drive(agent: http.Agent, port: number, n: number, path = '/'): Promise<void> {
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => {
      const r = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      r.on('error', reject);
    });
  }
}

function callgrindControl(args: string[]): void {
  const r = spawnSync('callgrind_control', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`callgrind_control ${args.join(' ')}: ${r.stderr || r.stdout}`);
}

/** Instructions per request of one server process of `variant`. */
async function measure(variant: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'ctxkit-instr-'));
  try {
    const child = spawn(
      'valgrind',
      [
        '--tool=callgrind',
        `--callgrind-out-file=${join(dir, 'cg.%p')}`,
        '--dump-instr=no',
        process.execPath,
        '--expose-gc',
        '--min-semi-space-size=16',
        '--max-semi-space-size=16',
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
      ],
      {
        env: { ...process.env, CTXKIT_INSTR_BENCH_ROLE: 'server', CTXKIT_INSTR_BENCH_VARIANT: variant },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /^(\d+)\n/.exec(buf);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`server under valgrind exited (${code}): ${stderr}`)));
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await drive(agent, port, 6000);
    for (let i = 0; i < SETTLE_CYCLES; i++) {
      await drive(agent, port, 1, '/gc');
      await drive(agent, port, 500);
    }
    await drive(agent, port, 6000);
    callgrindControl(['-z', String(child.pid)]);
    await drive(agent, port, REQUESTS);
    callgrindControl(['-d', String(child.pid)]);
    agent.destroy();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
    const dump = readdirSync(dir).find((f) => /^cg\.\d+\.1$/.test(f));
    if (dump === undefined) throw new Error(`no callgrind dump in ${dir}`);
    const summary = /^summary:\s+(\d+)/m.exec(readFileSync(join(dir, dump), 'utf8'));
    if (summary === null) throw new Error(`no summary line in ${dump}`);
    return Number(summary[1]) / REQUESTS;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const out = ['## CPU instructions per request (@ctxkit/http, callgrind)', ''];
  const hasValgrind = spawnSync('valgrind', ['--version']).status === 0 && spawnSync('callgrind_control', ['-h']).error === undefined;
  if (!hasValgrind) {
    out.push('Not measured: valgrind is not installed on this machine (`apt-get install valgrind`).');
    process.stdout.write(out.join('\n') + '\n');
    return;
  }
  const counts = new Map<string, number[]>([
    ['bare', []],
    ['with', []],
  ]);
  for (let r = 0; r < REPEATS; r++) {
    for (const v of r % 2 === 0 ? ['bare', 'with'] : ['with', 'bare']) {
      progress(`instructions: ${v} (${r + 1}/${REPEATS})`);
      counts.get(v)!.push(await measure(v));
    }
  }
  const bare = median(counts.get('bare')!);
  const withCtx = median(counts.get('with')!);
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
  out.push(
    table(
      ['Server', 'instructions per request (each process)', 'median', 'more than bare', 'bare / this'],
      [
        ['node:http, bare', counts.get('bare')!.map(fmt).join(', '), fmt(bare), '—', '—'],
        [
          'node:http, `contextFromRequest`',
          counts.get('with')!.map(fmt).join(', '),
          fmt(withCtx),
          `${fmt(withCtx - bare)} (${(100 * (withCtx / bare - 1)).toFixed(2)} %)`,
          `${((100 * bare) / withCtx).toFixed(1)} %`,
        ],
      ],
    ),
  );
  out.push('');
  out.push(
    `Every instruction the server process executed (all threads: JIT, garbage collector, libuv) while it served ${REQUESTS} \`GET /\` requests answered \`ok\`, one at a time over one keep-alive connection on loopback, divided by ${REQUESTS}; ${REPEATS} server processes per variant, run alternately, and their median (a process now and then counts several thousand more per request: an optimisation or deoptimisation of its own landing in the counted window, as the JIT's work is counted too). Before counting, each server served 6000 requests, then ${SETTLE_CYCLES} cycles of a full collection while idle followed by 500 requests (the settle step of the req/s bench: a long-running server's state), then 6000 more. Semispaces fixed at 16 MB. Instructions are not time: the req/s benches above are what a user sees; this count is what a change to the binding costs, measured finely enough to choose between two versions of it.`,
  );
  process.stdout.write(out.join('\n') + '\n');
}

if (ROLE === 'server') {
  await runServer(process.env.CTXKIT_INSTR_BENCH_VARIANT ?? 'bare');
} else {
  await main();
}
