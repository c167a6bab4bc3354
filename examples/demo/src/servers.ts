/** Loopback servers for the demo: start on an ephemeral port, stop without leaving sockets. */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A listening server and its base URL. */
export interface Running {
  readonly url: string;
  /** Stops accepting, destroys every open connection, resolves when closed. */
  close(): Promise<void>;
}

/** Starts `handler` on 127.0.0.1 (ephemeral port). */
export async function listen(handler: RequestListener): Promise<Running> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The per-request state the back service loads (think: rows for the answer), ~200 KB of heap,
 * held until its handler returns — which is why zombie handlers show up in the heap figure.
 */
export function loadRows(id: string): Array<{ id: string; n: number; label: string }> {
  const rows = new Array<{ id: string; n: number; label: string }>(4000);
  for (let n = 0; n < rows.length; n++) rows[n] = { id, n, label: `row ${n} of request ${id}` };
  return rows;
}

/** The back service's answer built from its state and the dependency's quote. */
export function render(rows: ReadonlyArray<{ n: number }>, quote: unknown): string {
  return JSON.stringify({ rows: rows.length, quote });
}
