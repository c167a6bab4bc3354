// Shared test plumbing: real servers on loopback, raw clients, and a hook-based tally of
// cancellable contexts and operations (so each file can check nothing is left running).
import type http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { subscribe, type Context } from '@ctxkit/core';

export interface Served {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Servers started by `serve` and not closed yet; `closeAll` closes them. */
const openServers = new Set<Served>();
/** Sockets opened by `rawRequest` and not closed yet; `closeAll` destroys them. */
const openSockets = new Set<net.Socket>();

/** Starts `server` on an ephemeral loopback port. `closeAll` closes it if the test does not. */
export async function serve(server: http.Server): Promise<Served> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const served: Served = {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (!openServers.delete(served)) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  openServers.add(served);
  return served;
}

/**
 * Destroys the `rawRequest` sockets and closes the `serve` servers still open. Every file that
 * uses them installs it as an `afterEach` hook: a test that fails (or times out) before its own
 * `close()` would otherwise leave listening servers that keep the file's process alive until the
 * runner's file timeout, turning a quick failure into a hang that hides the file's report.
 */
export async function closeAll(): Promise<void> {
  for (const s of openSockets) s.destroy();
  openSockets.clear();
  await Promise.all([...openServers].map((s) => s.close()));
}

/** A promise with its resolver exposed: the server side signals events the test waits for. */
export function deferred<T = void>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

/** Opens a raw TCP connection to `port` and writes `head` (+ optional body part); `closeAll` destroys it if the test does not. */
export async function rawRequest(port: number, head: string, body?: Buffer): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  openSockets.add(s);
  s.once('close', () => openSockets.delete(s));
  await once(s, 'connect');
  s.on('error', () => {});
  s.write(head);
  if (body !== undefined) s.write(body);
  return s;
}

/** Reads from `s` until it has a complete response head and returns it (status line + headers). */
export async function readHead(s: net.Socket): Promise<string> {
  let buf = '';
  for await (const chunk of s) {
    buf += (chunk as Buffer).toString('latin1');
    const i = buf.indexOf('\r\n\r\n');
    if (i >= 0) return buf;
  }
  return buf;
}

/** Counts contexts created/ended and operations started/settled while active. */
export function tally(): { live(): number; liveKinds(): string[]; openOps(): string[]; stop(): void } {
  const liveSet = new Map<Context, string>();
  const ops = new Map<object, string>();
  const stop = subscribe({
    contextCreated(ctx, _parent, kind) {
      if (kind !== 'value' && kind !== 'withoutCancel' && ctx.err === undefined)
        liveSet.set(ctx, kind + ' ' + new Error().stack!.split('\n').slice(3, 9).join(' | '));
    },
    contextEnded(ctx) {
      liveSet.delete(ctx);
    },
    operationStarted(op) {
      ops.set(op, op.label);
    },
    operationSettled(op) {
      ops.delete(op);
    },
  });
  return { live: () => liveSet.size, liveKinds: () => [...liveSet.values()], openOps: () => [...ops.values()], stop };
}
