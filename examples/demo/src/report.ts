/** Formats a scenario report as a side-by-side table and a one-paragraph verdict. */
import type { DbReport, ScenarioReport, TwinReport } from './scenario.js';
import { PLAN_LIMITS } from './plan.js';

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => `${int(n)} ms`;
const mb = (n: number): string => `${n >= 0 ? '+' : '−'}${(Math.abs(n) / 1048576).toFixed(1)} MB`;
const opt = (n: number | undefined, f: (n: number) => string = int): string => (n === undefined ? 'n/a' : f(n));

type Row = [label: string, naive: string, ctxkit: string] | [section: string];

function rows(n: TwinReport, c: TwinReport, settleMs: number): Row[] {
  const both = (f: (r: TwinReport) => string, label: string): Row => [label, f(n), f(c)];
  const hasDb = n.db !== undefined && c.db !== undefined;
  const db = (f: (d: DbReport) => string, label: string): Row[] => (hasDb ? [[label, f(n.db!), f(c.db!)]] : []);
  return [
    ['Clients'],
    both((r) => int(r.sent), 'requests sent'),
    both((r) => int(r.completed), 'answered (200)'),
    both((r) => int(r.abandoned), 'abandoned mid-request by the client'),
    both((r) => int(r.failed), 'failed / timed out'),
    both((r) => `${opt(r.answerP50Ms, ms)} / ${opt(r.answerP95Ms, ms)}`, 'time to answer, p50 / p95'),
    ['Work done for clients that had already left'],
    both((r) => ms(r.handlerMsAfterLeft), 'front+back handler time after the client left'),
    both((r) => ms(r.workAfterLeftMs), '  of which slow work (timers)'),
    both((r) => int(r.stepsStartedAfterLeft), `work steps started > ${settleMs} ms after the client left`),
    both((r) => int(r.callsCompletedAfterLeft), 'downstream calls that ran to the end anyway'),
    ...db((d) => ms(d.msAfterLeft), 'PostgreSQL time for gone clients (server side)'),
    ...db((d) => int(d.completedForGone), 'SQL statements that ran to the end anyway'),
    both((r) => ms(r.dependencyMsAfterLeft), 'slow dependency busy for gone clients'),
    both((r) => int(r.dependencyAnsweredForGone), 'dependency answers nobody read'),
    both(
      (r) => (r.dependencyBudgetMedianMs === undefined ? 'none' : ms(r.dependencyBudgetMedianMs)),
      'budget passed to the dependency (median)',
    ),
    [`Zombies while the load ran (peak; zombie = its client left over ${settleMs} ms before)`],
    both((r) => int(r.peakZombieHandlers), 'handlers working for gone clients'),
    both((r) => int(r.peakZombieTimers), 'timers pending for gone clients'),
    ...db((d) => int(d.peakZombieStatements), 'SQL statements running for gone clients'),
    both(
      (r) => `${mb(r.heapMidRunBytes)}${r.gcExposed ? '' : '*'} (${int(r.zombieHandlersMidRun)} zombies)`,
      'heap above baseline at mid-run (after GC)',
    ),
    [`When the last client was done (+${settleMs} ms)`],
    both((r) => int(r.zombieHandlersAtLoadEnd), 'handlers still working for gone clients'),
    both((r) => int(r.zombieTimersAtLoadEnd), 'timers pending for gone clients'),
    ...db((d) => int(d.activeAtLoadEnd), 'SQL statements still running in PostgreSQL'),
    both((r) => opt(r.liveContextsAtLoadEnd), 'request contexts alive'),
    both((r) => mb(r.heapAtLoadEndBytes) + (r.gcExposed ? '' : '*'), 'heap above baseline (after GC)'),
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

function table(n: TwinReport, c: TwinReport, settleMs: number): string {
  const rs = rows(n, c, settleMs);
  const w0 = Math.max(...rs.map((r) => (r.length === 3 ? r[0].length + 2 : 0)));
  const w1 = Math.max('naive'.length, ...rs.map((r) => (r.length === 3 ? r[1].length : 0)));
  const w2 = Math.max('ctxkit'.length, ...rs.map((r) => (r.length === 3 ? r[2].length : 0)));
  const line = '─'.repeat(w0 + w1 + w2 + 6);
  const out = [`${''.padEnd(w0)}   ${'naive'.padStart(w1)}   ${'ctxkit'.padStart(w2)}`, line];
  for (const r of rs) {
    if (r.length === 1) out.push(r[0]);
    else out.push(`  ${r[0].padEnd(w0 - 2)}   ${r[1].padStart(w1)}   ${r[2].padStart(w2)}`);
  }
  out.push(line);
  return out.join('\n');
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

/** The whole printed report. */
export function formatReport(r: ScenarioReport): string {
  const o = r.options;
  const head = [
    `ctxkit demo — ${o.requests} requests from ${o.concurrency} concurrent clients; ${Math.round(o.abandonRate * 100)}% of them`,
    `give up ${PLAN_LIMITS.abandonAfterMs[0]}–${PLAN_LIMITS.abandonAfterMs[1]} ms into the request (seed ${o.seed}).`,
    `Chain: load → front (Express; auth ${PLAN_LIMITS.authMs.join('–')} ms) → back (Hono; state ${PLAN_LIMITS.loadMs.join('–')} ms, `,
    `slow dependency ${PLAN_LIMITS.dependencyMs.join('–')} ms, render ${PLAN_LIMITS.renderMs.join('–')} ms), all on loopback.`,
    'source' in r.database
      ? `The back service's state is an SQL statement (SELECT pg_sleep) in PostgreSQL (${r.database.source}), pool of ${o.poolSize}.`
      : `No PostgreSQL (${r.database.missing.split('\n')[0]}): a timer stands in for the back service's SQL statement.`,
    `Load took ${(r.naive.loadMs / 1000).toFixed(1)} s (naive) and ${(r.ctxkit.loadMs / 1000).toFixed(1)} s (ctxkit).`,
  ]
    .join('\n')
    .replace(/, \n/, ', ');
  const foot = r.naive.gcExposed ? '' : '\n* heap measured without --expose-gc: includes garbage.';
  return `${head}\n\n${table(r.naive, r.ctxkit, o.settleMs)}${foot}\n\n${wrap(verdict(r), 100)}\n`;
}

function wrap(text: string, width: number): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line.length + word.length + 1 > width && line) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.join('\n');
}
