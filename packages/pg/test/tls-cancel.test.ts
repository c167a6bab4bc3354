// Cancel requests travel like the client's own connection: over TLS (SSLRequest, then TLS with
// the client's `ssl` options) when the client uses TLS, plain when it is plain. The TLS case runs
// against a second PostgreSQL this file starts (ssl = on, a pg_hba.conf with only a `hostssl`
// rule, a self-signed certificate the client verifies). Between the pool and each server sits a
// loopback TCP relay that records the first message of every connection, so the test sees what
// crossed the wire: an SSLRequest and never a CancelRequest in the clear. On the far side: the
// statement ended with 57014 (query_canceled), the backend is idle and serves the next statement
// (the cancel was confirmed, so the connection was kept).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pg from 'pg';
import { background, withCancel } from '@ctxkit/core';
import { expectCanceled, leakCheckAfterAll } from '@ctxkit/testing';
import { wrapPool } from '@ctxkit/pg';
import type { TestDatabase } from '@ctxkit/pg/testing';
import { cancelTlsOf } from '../src/cancel-request.js';
import { appName, backends, openTestDatabase, poolAtRest, waitActive, waitFor } from './helpers.js';
import { startTlsCluster, type TlsCluster } from './tls-cluster.js';

leakCheckAfterAll(after);

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;

let cluster: TlsCluster | undefined;
let why = '';
try {
  cluster = await startTlsCluster();
} catch (e) {
  if (process.env['CI'] === 'true') throw e;
  why = e instanceof Error ? e.message : String(e);
  process.stderr.write(`\n!!!!!!!! @ctxkit/pg cancel over TLS: SKIPPED — ${why}\n\n`);
}
const plainDb: TestDatabase | undefined = await openTestDatabase('@ctxkit/pg plain cancel through a relay');

/** A loopback TCP relay to `port` that records the protocol code of each connection's first message. */
interface Relay {
  readonly port: number;
  /** Per accepted connection, in order: the int32 at bytes 4–7 of the first message. */
  readonly firstCodes: number[];
  close(): Promise<void>;
}

function startRelay(host: string, port: number): Promise<Relay> {
  const firstCodes: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((down) => {
    const up = net.connect(port, host);
    sockets.add(down).add(up);
    let head = Buffer.alloc(0);
    let recorded = false;
    down.on('data', (chunk: Buffer) => {
      if (!recorded) {
        head = Buffer.concat([head, chunk]);
        if (head.length >= 8) {
          recorded = true;
          firstCodes.push(head.readInt32BE(4));
        }
      }
      up.write(chunk);
    });
    up.on('data', (chunk: Buffer) => down.write(chunk));
    const close = (): void => {
      down.destroy();
      up.destroy();
      sockets.delete(down);
      sockets.delete(up);
    };
    down.on('end', () => up.end());
    up.on('end', () => down.end());
    down.on('close', close);
    up.on('close', close);
    down.on('error', close);
    up.on('error', close);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        firstCodes,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      }),
    ),
  );
}

/** Records the SQLSTATE node-postgres reports for each statement on `client` (before this package maps it). */
function recordErrors(client: pg.ClientBase, out: { text: string; code: string | undefined }[]): void {
  const query = client.query as (...a: unknown[]) => unknown;
  (client as { query: unknown }).query = function (this: pg.ClientBase, ...args: unknown[]) {
    const i = args.findIndex((a) => typeof a === 'function');
    if (i >= 0) {
      const cb = args[i] as (err: unknown, res: unknown) => void;
      const text = typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: unknown }).text);
      args[i] = (err: unknown, res: unknown) => {
        if (err) out.push({ text, code: (err as { code?: string }).code });
        cb(err, res);
      };
    }
    return query.apply(this, args);
  };
}

/**
 * Cancels `SELECT pg_sleep(30)` on a pool of one connection through `relay`, and checks the far
 * side: 57014, the backend idle, the same backend serving the next statement. Returns the codes
 * of the connections the relay saw from the moment of the cancel on.
 */
async function cancelThrough(config: pg.PoolConfig, adminConfig: pg.PoolConfig, relay: Relay, tag: string): Promise<number[]> {
  const app = appName(tag);
  const pool = new pg.Pool({ ...config, application_name: app, max: 1 });
  const admin = new pg.Pool({ ...adminConfig, max: 1 });
  pool.on('error', () => {});
  admin.on('error', () => {});
  const errors: { text: string; code: string | undefined }[] = [];
  pool.on('connect', (client) => recordErrors(client, errors));
  try {
    const db = wrapPool(pool);
    const pid = (await db.query(background(), 'SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const scope = withCancel(background());
    const p = db.query(scope.ctx, `SELECT pg_sleep(30) /* ${tag} */`);
    const running = await waitActive(admin, app, tag);
    assert.equal(running.pid, pid);
    const before = relay.firstCodes.length;
    scope.cancel();
    await expectCanceled(p, scope.ctx);
    assert.deepEqual(
      errors.filter((e) => e.text.includes(tag)).map((e) => e.code),
      ['57014'],
      'the server cancelled the statement (query_canceled)',
    );
    await waitFor('the backend to be idle', async () => (await backends(admin, app)).find((b) => b.pid === pid && b.state === 'idle'));
    // The cancel was confirmed, so the connection was kept: the same backend runs the next statement.
    assert.equal((await db.query(background(), 'SELECT pg_backend_pid() AS pid')).rows[0].pid, pid);
    assert.deepEqual(poolAtRest(pool), { checkedOut: 0, waiting: 0 });
    return relay.firstCodes.slice(before);
  } finally {
    await pool.end();
    await admin.end();
  }
}

describe('@ctxkit/pg cancel requests over TLS', { skip: cluster === undefined ? `no TLS cluster: ${why}` : false }, () => {
  let relay: Relay;
  before(async () => {
    relay = await startRelay(cluster!.host, cluster!.port);
  });
  after(async () => {
    await relay?.close();
    await cluster?.stop();
  });

  test('the server accepts only TLS connections', async () => {
    const plain = new pg.Client({ host: cluster!.host, port: cluster!.port, user: 'postgres', database: 'postgres' });
    plain.on('error', () => {});
    await assert.rejects(plain.connect(), /no pg_hba\.conf entry .* no encryption/);
  });

  test('a cancelled pg_sleep stops in the server; the request went SSLRequest + TLS, never in the clear', async () => {
    const ssl = { ca: cluster!.ca }; // verified: the certificate names 127.0.0.1
    const codes = await cancelThrough(
      { host: '127.0.0.1', port: relay.port, user: 'postgres', database: 'postgres', ssl },
      { host: cluster!.host, port: cluster!.port, user: 'postgres', database: 'postgres', ssl },
      relay,
      'tls-cancel',
    );
    assert.ok(codes.length >= 1, 'a cancel connection went through the relay');
    assert.ok(codes.includes(SSL_REQUEST), `an SSLRequest opened the cancel connection (saw ${codes.join(', ')})`);
    assert.ok(!codes.includes(CANCEL_REQUEST), 'no CancelRequest crossed the network in the clear');
  });
});

describe('@ctxkit/pg cancel requests of a plain client', {
  skip: plainDb === undefined ? 'no PostgreSQL (see the line above)' : false,
}, () => {
  let relay: Relay;
  let server: URL;
  before(async () => {
    server = new URL(plainDb!.connectionString);
    relay = await startRelay(server.hostname, Number(server.port || 5432));
  });
  after(async () => {
    await relay?.close();
    await plainDb?.stop();
  });

  test('go over plain TCP: the CancelRequest is the first message', async () => {
    const through = new URL(plainDb!.connectionString);
    through.hostname = '127.0.0.1';
    through.port = String(relay.port);
    const codes = await cancelThrough(
      { connectionString: through.toString() },
      { connectionString: plainDb!.connectionString },
      relay,
      'plain-cancel',
    );
    assert.ok(codes.includes(CANCEL_REQUEST), `a plain CancelRequest (saw ${codes.join(', ')})`);
    assert.ok(!codes.includes(SSL_REQUEST));
  });
});

describe('cancelTlsOf mirrors the TLS settings node-postgres uses for the connection', () => {
  test('plain client: none', () => {
    assert.equal(cancelTlsOf(new pg.Client({ host: 'db.example', ssl: false })), undefined);
    assert.equal(cancelTlsOf(new pg.Client({ host: 'db.example' })), undefined);
  });

  test('TLS options, the host for the identity check, servername only for a host name, the hidden key', () => {
    const named = cancelTlsOf(new pg.Client({ host: 'db.example', ssl: { ca: 'CA', key: 'KEY', rejectUnauthorized: true } }));
    assert.deepEqual(
      { ...named!.options },
      { host: 'db.example', servername: 'db.example', ca: 'CA', key: 'KEY', rejectUnauthorized: true },
    );
    assert.equal(named!.direct, false);
    const ip = cancelTlsOf(new pg.Client({ host: '127.0.0.1', ssl: true }));
    assert.deepEqual({ ...ip!.options }, { host: '127.0.0.1' });
  });
});
