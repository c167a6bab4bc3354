/**
 * The load generator: a fixed number of GET requests from a bounded pool of clients. Clients
 * chosen by the seed give up at a seeded moment by destroying their socket mid-request — what a
 * browser tab closed, a mobile client on a train, or an impatient upstream proxy does.
 */
import { request } from 'node:http';
import { ID_HEADER, type Meter } from './meter.js';
import { clientPlan } from './plan.js';

/** Options of one load run. */
export interface LoadOptions {
  readonly url: string;
  readonly requests: number;
  readonly concurrency: number;
  readonly seed: number;
  readonly abandonRate: number;
  /** A client that was not planned to leave still gives up after this long (bounds the demo). */
  readonly patienceMs: number;
  readonly meter: Meter;
  /** Called synchronously just before request `index` is sent. */
  readonly beforeSend?: (index: number) => void;
  /** Called each time a client is done with a request (answered, abandoned or failed): how many are done so far. */
  readonly afterDone?: (done: number) => void;
}

/** What the clients saw. */
export interface LoadResult {
  readonly sent: number;
  /** Got a full 200 answer. */
  readonly completed: number;
  /** Left mid-request, as planned. */
  readonly abandoned: number;
  /** Got an error status, a broken connection, or ran out of patience. */
  readonly failed: number;
  /** Time to a full answer of each answered request (ms), in completion order. */
  readonly latencies: readonly number[];
}

type Outcome = 'completed' | 'abandoned' | 'failed';

function one(opts: LoadOptions, id: number, latencies: number[]): Promise<Outcome> {
  const key = String(id);
  const { abandonAfterMs } = clientPlan(opts.seed, id, opts.abandonRate);
  const start = opts.meter.now();
  return new Promise<Outcome>((resolve) => {
    let done = false;
    const finish = (o: Outcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (o === 'completed') latencies.push(opts.meter.now() - start);
      resolve(o);
    };
    const req = request(`${opts.url}/order`, { agent: false, headers: { [ID_HEADER]: key } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => finish(res.statusCode === 200 ? 'completed' : 'failed'));
      res.on('error', () => finish('failed'));
    });
    req.on('error', () => finish('failed'));
    const leave = abandonAfterMs !== undefined;
    const timer = setTimeout(() => {
      if (done) return;
      if (leave) opts.meter.clientLeft(key);
      finish(leave ? 'abandoned' : 'failed');
      req.destroy();
    }, abandonAfterMs ?? opts.patienceMs);
    req.end();
  });
}

/** Sends `requests` requests through `concurrency` clients; resolves when every client is done. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  let next = 0;
  let done = 0;
  const counts = { completed: 0, abandoned: 0, failed: 0 };
  const latencies: number[] = [];
  const worker = async (): Promise<void> => {
    while (next < opts.requests) {
      const id = next++;
      opts.beforeSend?.(id);
      counts[await one(opts, id, latencies)]++;
      opts.afterDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.requests) }, worker));
  return { sent: opts.requests, ...counts, latencies };
}
