// The demo's claim, checked at a small size: with ctxkit the services stop working for clients
// that left, and leave nothing behind. Assertions are on counts and on relations between the two
// twins measured in the same run — never on wall-clock thresholds alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../src/scenario.js';
import { formatReport } from '../src/report.js';

test('demo scenario: the ctxkit twin stops work for abandoned requests, the naive twin does not', async () => {
  // The database: DATABASE_URL, else 127.0.0.1:5432, else an embedded PostgreSQL.
  const r = await runScenario({ requests: 60, concurrency: 20, seed: 7, warmup: false });
  const { naive, ctxkit } = r;
  if ('missing' in r.database) {
    const msg = `demo test: NO POSTGRESQL — the SQL part of the scenario was not checked: ${r.database.missing}`;
    if (process.env['CI'] === 'true') assert.fail(msg);
    console.error(`\n!!! ${msg}\n`);
  }

  // Same seeded load for both twins: every planned abandonment lands before the earliest answer
  // (a scheduling hiccup could in principle let one answer win the race, hence the slack).
  assert.equal(naive.sent, 60);
  assert.equal(ctxkit.sent, 60);
  assert.ok(naive.abandoned >= 5, `expected several abandoned requests, got ${naive.abandoned}`);
  assert.ok(Math.abs(ctxkit.abandoned - naive.abandoned) <= 2, `abandoned: ctxkit ${ctxkit.abandoned} vs naive ${naive.abandoned}`);
  assert.equal(naive.failed, 0);
  assert.equal(ctxkit.failed, 0);
  assert.equal(naive.completed + naive.abandoned, 60);
  assert.equal(ctxkit.completed + ctxkit.abandoned, 60);

  // The naive twin really works for nobody: most abandoned requests still get their dependency
  // answer and their render step after the client left.
  assert.ok(
    naive.dependencyAnsweredForGone * 2 >= naive.abandoned,
    `naive: dependency answers for gone clients ${naive.dependencyAnsweredForGone} of ${naive.abandoned} abandoned`,
  );
  assert.ok(
    naive.stepsStartedAfterLeft * 2 >= naive.abandoned,
    `naive: steps started for gone clients ${naive.stepsStartedAfterLeft} of ${naive.abandoned} abandoned`,
  );

  // The ctxkit twin stops: far less work after the client left than the naive twin, per hop.
  assert.ok(
    ctxkit.handlerMsAfterLeft * 10 < naive.handlerMsAfterLeft,
    `handler time after the client left: ctxkit ${ctxkit.handlerMsAfterLeft} vs naive ${naive.handlerMsAfterLeft}`,
  );
  assert.ok(
    ctxkit.dependencyMsAfterLeft * 10 < naive.dependencyMsAfterLeft,
    `dependency time for gone clients: ctxkit ${ctxkit.dependencyMsAfterLeft} vs naive ${naive.dependencyMsAfterLeft}`,
  );
  // A call can only complete for a gone client in the instant the disconnect is travelling.
  assert.ok(
    ctxkit.dependencyAnsweredForGone * 4 <= naive.dependencyAnsweredForGone,
    `dependency answers for gone clients: ctxkit ${ctxkit.dependencyAnsweredForGone} vs naive ${naive.dependencyAnsweredForGone}`,
  );
  // On a saturated machine a server can accept a request only after its client has already given
  // up; that handler's first step starts before the disconnect is seen, in both twins. Hence the
  // weak relation here; the time figures above carry the claim.
  assert.ok(
    ctxkit.stepsStartedAfterLeft < naive.stepsStartedAfterLeft,
    `steps started for gone clients: ctxkit ${ctxkit.stepsStartedAfterLeft} vs naive ${naive.stepsStartedAfterLeft}`,
  );

  // PostgreSQL, seen from the server: statements for gone clients are cancelled inside it, and
  // none is left running once the load is over.
  if (naive.db && ctxkit.db) {
    assert.ok(naive.db.completedForGone >= 1, 'naive: some statements ran to the end for gone clients');
    assert.ok(
      ctxkit.db.completedForGone * 4 <= naive.db.completedForGone,
      `statements completed for gone clients: ctxkit ${ctxkit.db.completedForGone} vs naive ${naive.db.completedForGone}`,
    );
    assert.ok(
      ctxkit.db.msAfterLeft * 4 < naive.db.msAfterLeft,
      `database time for gone clients: ctxkit ${ctxkit.db.msAfterLeft} vs naive ${naive.db.msAfterLeft}`,
    );
    assert.equal(ctxkit.db.activeAtEnd, 0);
    assert.equal(naive.db.activeAtEnd, 0);
  }

  // The remaining budget travels downstream with ctxkit only.
  assert.equal(naive.dependencyBudgetMedianMs, undefined);
  assert.ok(ctxkit.dependencyBudgetMedianMs !== undefined && ctxkit.dependencyBudgetMedianMs > 0);

  // Nothing left behind: every handler returned, no request timer pending, no live context or operation.
  assert.equal(ctxkit.drained, true);
  assert.equal(ctxkit.timersAtEnd, 0);
  assert.equal(ctxkit.liveContextsAtEnd, 0);
  assert.equal(ctxkit.opsInFlightAtEnd, 0);
  assert.equal(naive.drained, true);

  // A statement that ran to the end for a gone client in the ctxkit twin can only be one whose
  // result reached the back service before the hang-up did (the report's note says so).
  if (ctxkit.db) assert.equal(ctxkit.db.completedForGoneBeforeHangUp, ctxkit.db.completedForGone);

  // The report renders both twins, fits 80 columns, explains itself and a verdict.
  const text = formatReport(r);
  assert.match(text, /naive\s+ctxkit/);
  assert.match(text, /Verdict:/);
  for (const line of text.split('\n')) assert.ok([...line].length <= 80, `${[...line].length} columns: ${JSON.stringify(line)}`);
  assert.match(text, /handler time after the client left, sum/);
  assert.match(text, /\n² No zombie holds it: /);
  if (ctxkit.db && ctxkit.db.completedForGone > 0)
    assert.match(text, /\n¹ ctxkit's ended ≤ \d+ ms after the client left, before the back heard of it\./);
  assert.match(text, /diff examples\/demo\/src\/naive\.ts examples\/demo\/src\/ctxkit\.ts/);
});
