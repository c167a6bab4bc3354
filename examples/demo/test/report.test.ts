// The printed report, from fixed figures: it fits an 80-column terminal even with the largest
// figures the options allow, says which figures are sums, explains the two that would otherwise
// look wrong, and names the files that differ between the twins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatReport, notes, REPORT_WIDTH, TWIN_FILES } from '../src/report.js';
import { progressPrinter } from '../src/progress.js';
import type { DbReport, Progress, ScenarioReport, TwinReport } from '../src/scenario.js';

function twin(name: 'naive' | 'ctxkit', scale: number, db: Partial<DbReport> = {}): TwinReport {
  const naive = name === 'naive';
  return {
    twin: name,
    sent: 200 * scale,
    completed: 126 * scale,
    abandoned: 74 * scale,
    failed: 0,
    latencies: [],
    loadMs: 4900 * scale,
    answerP50Ms: 1267,
    answerP95Ms: 1774,
    handlerMsAfterLeft: (naive ? 138_384 : 4207) * scale,
    workAfterLeftMs: (naive ? 7777 : 1059) * scale,
    stepsStartedAfterLeft: (naive ? 86 : 13) * scale,
    callsCompletedAfterLeft: (naive ? 146 : 0) * scale,
    dependencyMsAfterLeft: (naive ? 23_563 : 0) * scale,
    dependencyAnsweredForGone: (naive ? 73 : 0) * scale,
    dependencyBudgetMedianMs: naive ? undefined : 2584,
    peakZombieHandlers: (naive ? 58 : 3) * scale,
    peakZombieTimers: (naive ? 14 : 1) * scale,
    zombieHandlersAtLoadEnd: 0,
    zombieTimersAtLoadEnd: 0,
    heapAtLoadEndBytes: (naive ? 0.8 : 1.7) * 1048576,
    heapMidRunBytes: (naive ? 13.3 : 9.4) * 1048576 * scale,
    zombieHandlersMidRun: (naive ? 26 : 2) * scale,
    gcExposed: true,
    socketsAtLoadEnd: naive ? 107 : 78,
    liveContextsAtLoadEnd: naive ? undefined : 0,
    zombieTailMs: naive ? 83 : 0,
    drained: true,
    liveContextsAtEnd: naive ? undefined : 0,
    opsInFlightAtEnd: naive ? undefined : 0,
    timersAtEnd: 0,
    db: {
      msAfterLeft: (naive ? 13_997 : 618) * scale,
      completedForGone: (naive ? 73 : 1) * scale,
      completedForGoneBeforeHangUp: (naive ? 73 : 1) * scale,
      completedForGoneMaxMs: naive ? 290 : 3,
      peakZombieStatements: naive ? 8 : 1,
      activeAtLoadEnd: 0,
      activeAtEnd: 0,
      ...db,
    },
  };
}

function report(scale = 1, ctxkitDb: Partial<DbReport> = {}): ScenarioReport {
  return {
    options: {
      requests: 200 * scale,
      concurrency: 40,
      abandonRate: 0.35,
      seed: 42,
      settleMs: 100,
      drainCapMs: 8000,
      sampleMs: 20,
      warmup: true,
      database: 'postgres://127.0.0.1/test',
      poolSize: 16,
      log: () => {},
      progress: () => {},
    },
    database: { source: 'local' },
    naive: twin('naive', scale),
    ctxkit: twin('ctxkit', scale, ctxkitDb),
  };
}

/** Columns of a line: one per code point (the report uses no wide or combining characters). */
const columns = (line: string): number => Array.from(line).length;

function widest(text: string): string {
  let w = '';
  for (const line of text.split('\n')) if (columns(line) > columns(w)) w = line;
  return w;
}

test(`every line fits ${REPORT_WIDTH} columns, at the default size and with the largest figures`, () => {
  // scale 500 = 100,000 requests (the largest --requests allows): sums in the tens of millions of ms.
  for (const scale of [1, 500]) {
    const text = formatReport(report(scale));
    const w = widest(text);
    assert.ok(columns(w) <= REPORT_WIDTH, `scale ${scale}: ${columns(w)} columns: ${JSON.stringify(w)}`);
    assert.doesNotMatch(text, /\t/);
  }
});

test('summed figures say they are sums, next to a per-request figure', () => {
  const text = formatReport(report());
  assert.match(text, /front\+back handler time after the client left, sum\s+138,384 ms\s+4,207 ms\n/);
  assert.match(text, /per abandoned request\s+1,870 ms\s+57 ms\n/);
  assert.match(text, /PostgreSQL time for gone clients, sum/);
  assert.match(text, /dependency busy for gone clients, sum/);
});

test('the SQL statement ctxkit ran to the end and the heap at load end are explained, one line each', () => {
  const text = formatReport(report());
  assert.match(text, /SQL statements that ran to the end anyway ¹\s+73\s+1\n/);
  assert.match(text, /\n¹ ctxkit's ended ≤ 3 ms after the client left, before the back heard of it\.\n/);
  assert.match(text, /heap above baseline \(after GC\) ²\s+\+0\.8 MB\s+\+1\.7 MB\n/);
  assert.match(text, /\n² No zombie holds it: open sockets, compiled code, harness data; ±1 MB per run\.\n/);
  assert.match(text, /TCP sockets open \(every service, both ends\)\s+107\s+78\n/);
});

test('without a statement to explain there is no SQL note; one after the hang-up is called a bug', () => {
  assert.equal(notes(report(1, { completedForGone: 0, completedForGoneBeforeHangUp: 0 })).has('¹'), false);
  assert.doesNotMatch(formatReport(report(1, { completedForGone: 0 })), /¹/);
  const late = notes(report(1, { completedForGone: 2, completedForGoneBeforeHangUp: 1 })).get('¹');
  assert.match(late ?? '', /1 returned after the back saw its caller go: a bug worth reporting/);
});

test('the report names the two files that differ, and they exist', () => {
  const text = formatReport(report());
  assert.match(text, new RegExp(`diff ${TWIN_FILES.naive} ${TWIN_FILES.ctxkit}\n`));
  const root = new URL('../../../', import.meta.url);
  for (const f of Object.values(TWIN_FILES)) assert.ok(existsSync(fileURLToPath(new URL(f, root))), f);
});

test('progress: a line per phase on a pipe; on a terminal also a live count, erased before the next line', () => {
  const run: Progress[] = [
    { phase: 'database' },
    { phase: 'warmup', requests: 4 },
    { phase: 'load', twin: 'naive', done: 0, total: 2 },
    { phase: 'load', twin: 'naive', done: 1, total: 2 },
    { phase: 'load', twin: 'naive', done: 2, total: 2 },
    { phase: 'drain', twin: 'naive' },
    { phase: 'done', twin: 'naive', ms: 1234 },
  ];
  const capture = (isTTY: boolean): string => {
    let out = '';
    const p = progressPrinter({ isTTY, write: (t: string) => (out += t) });
    for (const x of run) p(x);
    p.end();
    return out;
  };
  const piped = capture(false);
  assert.equal(piped.split('\n').length - 1, 5);
  assert.match(piped, /^demo: finding PostgreSQL/);
  assert.match(piped, /demo: naive twin, 2 requests…\n/);
  assert.match(piped, /demo: naive twin done in 1\.2 s\n$/);
  const ERASE = '\r\u001b[2K';
  assert.equal(piped.includes('\r') || piped.includes('\u001b'), false);
  const tty = capture(true);
  assert.ok(tty.includes(`${ERASE}  naive: 2 of 2 requests done${ERASE}demo: naive twin, load over`), JSON.stringify(tty));
});
