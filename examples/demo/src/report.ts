/**
 * Formats a scenario report for an 80-column terminal: a header, the side-by-side table, a note
 * per figure that needs one, where to read the code that differs, and a one-paragraph verdict.
 */
import type { DbReport, ScenarioReport, TwinReport } from './scenario.js';
import { PLAN_LIMITS } from './plan.js';

/** No line of the report is wider than this (columns). */
export const REPORT_WIDTH = 80;

/** The two files that hold the only code that differs between the twins, from the repository root. */
export const TWIN_FILES = { naive: 'examples/demo/src/naive.ts', ctxkit: 'examples/demo/src/ctxkit.ts' } as const;

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => `${int(n)} ms`;
const mb = (n: number): string => `${n >= 0 ? '+' : '−'}${(Math.abs(n) / 1048576).toFixed(1)} MB`;
const opt = (n: number | undefined, f: (n: number) => string = int): string => (n === undefined ? 'n/a' : f(n));

type Row = [label: string, naive: string, ctxkit: string] | [section: string];

/** Marks of the rows explained under the table. */
const SQL_NOTE = '¹';
const HEAP_NOTE = '²';

function rows(n: TwinReport, c: TwinReport, settleMs: number, notes: ReadonlySet<string>): Row[] {
  const both = (f: (r: TwinReport) => string, label: string): Row => [label, f(n), f(c)];
  const hasDb = n.db !== undefined && c.db !== undefined;
  const db = (f: (d: DbReport) => string, label: string): Row[] => (hasDb ? [[label, f(n.db!), f(c.db!)]] : []);
  const per = (r: TwinReport, v: number): string => (r.abandoned > 0 ? ms(v / r.abandoned) : 'n/a');
  const mark = (label: string, note: string): string => (notes.has(note) ? `${label} ${note}` : label);
  const gc = (r: TwinReport): string => (r.gcExposed ? '' : '*');
  return [
    ['Clients'],
    both((r) => int(r.sent), 'requests sent'),
    both((r) => int(r.completed), 'answered (200)'),
    both((r) => int(r.abandoned), 'gave up mid-request'),
    both((r) => int(r.failed), 'failed / timed out'),
    both((r) => opt(r.answerP50Ms, ms), 'time to answer, median'),
    both((r) => opt(r.answerP95Ms, ms), 'time to answer, 95th percentile'),
    ['Work done for clients that had already left'],
    both((r) => ms(r.handlerMsAfterLeft), 'front+back handler time after the client left, sum'),
    both((r) => per(r, r.handlerMsAfterLeft), '  per abandoned request'),
    both((r) => ms(r.workAfterLeftMs), '  of which slow work (timers), sum'),
    both((r) => int(r.stepsStartedAfterLeft), `steps started > ${settleMs} ms after the client left`),
    both((r) => int(r.callsCompletedAfterLeft), 'downstream calls that ran to the end anyway'),
    ...db((d) => ms(d.msAfterLeft), 'PostgreSQL time for gone clients, sum'),
    ...db((d) => int(d.completedForGone), mark('SQL statements that ran to the end anyway', SQL_NOTE)),
    both((r) => ms(r.dependencyMsAfterLeft), 'dependency busy for gone clients, sum'),
    both((r) => int(r.dependencyAnsweredForGone), 'dependency answers nobody read'),
    both(
      (r) => (r.dependencyBudgetMedianMs === undefined ? 'none' : ms(r.dependencyBudgetMedianMs)),
      'budget passed to the dependency, median',
    ),
    [`Zombies while the load ran (peak; zombie = its client left > ${settleMs} ms ago)`],
    both((r) => int(r.peakZombieHandlers), 'handlers working for gone clients'),
    both((r) => int(r.peakZombieTimers), 'timers pending for gone clients'),
    ...db((d) => int(d.peakZombieStatements), 'SQL statements running for gone clients'),
    both((r) => mb(r.heapMidRunBytes) + gc(r), 'heap above baseline at mid-run (after GC)'),
    both((r) => int(r.zombieHandlersMidRun), '  zombie handlers at that moment'),
    [`When the last client was done (+${settleMs} ms)`],
    both((r) => int(r.zombieHandlersAtLoadEnd), 'handlers still working for gone clients'),
    both((r) => int(r.zombieTimersAtLoadEnd), 'timers pending for gone clients'),
    ...db((d) => int(d.activeAtLoadEnd), 'SQL statements still running in PostgreSQL'),
    both((r) => opt(r.liveContextsAtLoadEnd), 'request contexts alive'),
    both((r) => int(r.socketsAtLoadEnd), 'TCP sockets open (every service, both ends)'),
    both((r) => mb(r.heapAtLoadEndBytes) + gc(r), mark('heap above baseline (after GC)', HEAP_NOTE)),
    both((r) => ms(r.zombieTailMs), 'work for gone clients went on for'),
    ['After draining (every handler returned)'],
    both((r) => int(r.timersAtEnd), 'request timers left'),
    both(
      (r) => (r.liveContextsAtEnd === undefined ? 'n/a' : `${int(r.liveContextsAtEnd)} / ${opt(r.opsInFlightAtEnd)}`),
      'contexts / operations left',
    ),
    ...db((d) => int(d.activeAtEnd), 'SQL statements left in PostgreSQL'),
  ];
}

function table(rs: readonly Row[]): string {
  const w0 = Math.max(...rs.map((r) => (r.length === 3 ? r[0].length + 2 : 0)));
  const w1 = Math.max('naive'.length, ...rs.map((r) => (r.length === 3 ? r[1].length : 0)));
  const w2 = Math.max('ctxkit'.length, ...rs.map((r) => (r.length === 3 ? r[2].length : 0)));
  // Two spaces between columns; one when the figures are so large that two would not fit.
  const gap = w0 + w1 + w2 + 4 <= REPORT_WIDTH ? '  ' : ' ';
  const line = '─'.repeat(w0 + w1 + w2 + 2 * gap.length);
  const out = [`${''.padEnd(w0)}${gap}${'naive'.padStart(w1)}${gap}${'ctxkit'.padStart(w2)}`, line];
  for (const r of rs) {
    if (r.length === 1) out.push(r[0]);
    else out.push(`  ${r[0].padEnd(w0 - 2)}${gap}${r[1].padStart(w1)}${gap}${r[2].padStart(w2)}`);
  }
  out.push(line);
  return out.join('\n');
}

/**
 * The one-line notes under the table, keyed by mark; each explains a figure that would otherwise
 * look wrong. Computed from the figures: a note appears only when its figure needs it.
 */
export function notes(r: ScenarioReport): Map<string, string> {
  const out = new Map<string, string>();
  const d = r.ctxkit.db;
  // A statement whose result reached the back before the hang-up did had nothing left to cancel.
  if (d !== undefined && d.completedForGone > 0) {
    const late = d.completedForGone - d.completedForGoneBeforeHangUp;
    out.set(
      SQL_NOTE,
      late === 0
        ? `ctxkit's ended ≤ ${ms(d.completedForGoneMaxMs ?? 0)} after the client left, before the back heard of it.`
        : `ctxkit: ${int(late)} returned after the back saw its caller go: a bug worth reporting.`,
    );
  }
  // Neither twin holds work for gone clients at that instant (rows above); the heap left is the
  // process's own: the sockets counted above, compiled code, the harness's records of requests.
  out.set(HEAP_NOTE, 'No zombie holds it: open sockets, compiled code, harness data; ±1 MB per run.');
  return out;
}

/** "12× less" — or, when the ctxkit figure is zero, "none at all". */
function less(naive: number, ctxkit: number): string {
  if (ctxkit <= 0) return naive > 0 ? 'none at all' : 'none in either';
  return `${Math.round(naive / ctxkit).toLocaleString('en-US')}× less`;
}

/** The verdict paragraph, computed from the figures (never canned). */
export function verdict(r: ScenarioReport): string {
  const { naive: n, ctxkit: c } = r;
  const per = (t: TwinReport, v: number): number => (t.abandoned > 0 ? v / t.abandoned : 0);
  const clean = c.drained && c.timersAtEnd === 0 && c.liveContextsAtEnd === 0 && c.opsInFlightAtEnd === 0 && (c.db?.activeAtEnd ?? 0) === 0;
  return [
    `Verdict: ${int(n.abandoned)} of ${int(n.sent)} clients gave up mid-request (${int(c.abandoned)} in the ctxkit run).`,
    `The naive twin kept working for them: its front and back handlers ran on for ${ms(n.handlerMsAfterLeft)} in all`,
    `(${ms(per(n, n.handlerMsAfterLeft))} per abandoned request), started ${int(n.stepsStartedAfterLeft)} steps for nobody,`,
    `ran ${int(n.callsCompletedAfterLeft)} downstream calls to the end and kept ${n.db ? `PostgreSQL busy for ${ms(n.db.msAfterLeft)} and ` : ''}the slow dependency busy for ${ms(n.dependencyMsAfterLeft)};`,
    `at its worst ${int(n.peakZombieHandlers)} handlers and ${int(n.peakZombieTimers)} timers were alive for clients that were gone.`,
    `The ctxkit twin is the same code with a context per request that ends when the client leaves:`,
    `its handlers ran on for ${ms(per(c, c.handlerMsAfterLeft))} per abandoned request — the time the disconnect takes to cross two hops`,
    `${c.db ? 'and PostgreSQL takes to confirm the cancel ' : ''}(${ms(c.handlerMsAfterLeft)} in all, ${less(n.handlerMsAfterLeft, c.handlerMsAfterLeft)}) —`,
    c.db && n.db
      ? `cancelled its SQL statements inside PostgreSQL (${ms(c.db.msAfterLeft)} of database time for gone clients, ${less(n.db.msAfterLeft, c.db.msAfterLeft)}),`
      : '',
    `hung up on the dependency (${ms(c.dependencyMsAfterLeft)} spent for gone clients, ${less(n.dependencyMsAfterLeft, c.dependencyMsAfterLeft)}) and passed it the remaining budget;`,
    clean
      ? 'once the load was over it left no timer, context or operation behind.'
      : `once the load was over it left ${int(c.timersAtEnd)} timers, ${opt(c.liveContextsAtEnd)} contexts and ${opt(c.opsInFlightAtEnd)} operations behind — a bug worth reporting.`,
    n.answerP50Ms !== undefined && c.answerP50Ms !== undefined
      ? `Clients who waited got their answer in ${ms(n.answerP50Ms)} (naive) vs ${ms(c.answerP50Ms)} (ctxkit) at the median` +
        (n.db && n.answerP50Ms > c.answerP50Ms * 1.1
          ? ': in the naive twin they queued behind zombie statements for connections of the same pool.'
          : '.')
      : '',
  ]
    .filter((x) => x !== '')
    .join(' ');
}

/** The whole printed report: no line wider than REPORT_WIDTH. */
export function formatReport(r: ScenarioReport): string {
  const o = r.options;
  const L = PLAN_LIMITS;
  const range = (xs: readonly [number, number]): string => `${xs[0]}–${xs[1]} ms`;
  const prose = (text: string): string => wrap(text, REPORT_WIDTH);
  const head = [
    prose(
      `ctxkit demo: ${int(o.requests)} requests from ${int(o.concurrency)} concurrent clients; ` +
        `${Math.round(o.abandonRate * 100)}% of them give up ${range(L.abandonAfterMs)} into their request (seed ${o.seed}).`,
    ),
    prose(
      `Chain, on loopback: load → front (Express; auth ${range(L.authMs)}) → back (Hono; state ${range(L.loadMs)}, ` +
        `slow dependency ${range(L.dependencyMs)}, render ${range(L.renderMs)}).`,
    ),
    prose(
      'source' in r.database
        ? `The back's state is an SQL statement (SELECT pg_sleep) in PostgreSQL (${r.database.source}), pool of ${o.poolSize}.`
        : `No PostgreSQL (${r.database.missing.split('\n')[0]}): a timer stands in for the back's SQL statement.`,
    ),
    `Load took ${(r.naive.loadMs / 1000).toFixed(1)} s (naive) and ${(r.ctxkit.loadMs / 1000).toFixed(1)} s (ctxkit).`,
  ].join('\n');
  const ns = notes(r);
  const noteLines = [...ns].map(([mark, text]) => wrap(`${mark} ${text}`, REPORT_WIDTH, '  '));
  if (!r.naive.gcExposed) noteLines.push('* heap measured without --expose-gc: includes garbage.');
  const code = [
    'What ctxkit changes is in two files (and wrapPool(pool) in src/scenario.ts):',
    `  diff ${TWIN_FILES.naive} ${TWIN_FILES.ctxkit}`,
  ].join('\n');
  return [head, table(rows(r.naive, r.ctxkit, o.settleMs, new Set(ns.keys()))), noteLines.join('\n'), code, prose(verdict(r))]
    .filter((x) => x !== '')
    .join('\n\n')
    .concat('\n');
}

/** Wraps `text` at word boundaries into lines of at most `width` columns; continuation lines start with `indent`. */
function wrap(text: string, width: number, indent = ''): string {
  const out: string[] = [];
  let line = '';
  // A figure stays on the line of its unit ("1,234 ms").
  for (const word of text.split(/ (?!(?:ms|s|MB)\b)/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = indent + word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.join('\n');
}
