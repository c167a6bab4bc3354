// The budget carried across three processes: this test sends an HTTP request with a 1,500 ms
// budget to a front service (child 1) that publishes to RabbitMQ; a worker (child 2) consumes it
// and runs a 30-second statement in PostgreSQL with the message's context. The statement stops in
// the server when the caller's budget runs out, and the worker saw a budget no larger than it.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { startTestDatabase, type TestDatabase } from '@ctxkit/pg/testing';
import pg from 'pg';
import { openTestAmqp, queueName, waitFor } from './helpers.js';

const conn = await openTestAmqp('amqp cross-process');
let database: TestDatabase | undefined;
try {
  database = await startTestDatabase();
} catch (e) {
  if (process.env['CI'] === 'true') throw e;
  process.stderr.write(`\n!!!!!!!! amqp cross-process: SKIPPED — ${e instanceof Error ? e.message : String(e)}\n\n`);
}

function child(file: string, args: string[]): { proc: ChildProcess; lines: Array<Record<string, unknown>> } {
  const proc = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', new URL(`./procs/${file}`, import.meta.url).pathname, ...args],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines: Array<Record<string, unknown>> = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  return { proc, lines };
}

describe('HTTP → publish → consume → pg across processes', { skip: conn === undefined || database === undefined }, () => {
  const queue = queueName('xproc');
  const app = `ctxkit-amqp-xproc-${process.pid}-${randomBytes(3).toString('hex')}`;
  const children: ChildProcess[] = [];
  let admin: pg.Pool | undefined;
  after(async () => {
    for (const c of children) {
      c.stdin!.end();
      await new Promise((r) => c.once('exit', r));
    }
    const ch = await conn!.createChannel();
    await ch.deleteQueue(queue);
    await conn!.close();
    await admin?.end();
    await database!.stop();
  });

  test('the statement stops in PostgreSQL when the caller’s budget runs out', async () => {
    const ch = await conn!.createChannel();
    await ch.assertQueue(queue, { durable: false });
    await ch.close();
    admin = new pg.Pool({ connectionString: database!.connectionString, max: 1 });
    const front = child('front.ts', [queue]);
    const worker = child('worker.ts', [queue, app, database!.connectionString]);
    children.push(front.proc, worker.proc);
    const { port } = (await waitFor('the front service', () => front.lines[0], 30_000)) as { port: number };
    await waitFor('the worker', () => worker.lines[0], 30_000);

    const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { 'ctxkit-timeout-ms': '1500' } });
    assert.equal(await res.text(), 'queued');
    const sleeping = async (): Promise<boolean> =>
      (
        await admin!.query(
          `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE '%pg_sleep(30)%'`,
          [app],
        )
      ).rowCount! > 0;
    await waitFor('the statement running in PostgreSQL', async () => ((await sleeping()) ? true : undefined));
    await waitFor('the statement stopped in PostgreSQL', async () => ((await sleeping()) ? undefined : true), 10_000);
    const seen = (await waitFor('the worker’s report', () => worker.lines[1])) as {
      budget: number;
      deadline: boolean;
      rejectedWithCtxErr: boolean;
    };
    assert.ok(seen.budget > 0 && seen.budget <= 1500, `worker budget ${seen.budget}`);
    assert.equal(seen.deadline, true);
    assert.equal(seen.rejectedWithCtxErr, true);
  });
});
