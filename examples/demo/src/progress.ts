/**
 * The CLI's progress display on stderr: a short line per phase, and on a terminal a live count
 * of the requests done, redrawn in place and erased before the next line (so the report that
 * follows on stdout starts on a clean line).
 */
import type { Progress } from './scenario.js';

/** Where progress goes: stderr, or anything with the same two members (tests). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Minimum time between two redraws of the live count (ms). */
const REDRAW_MS = 100;

/**
 * A `progress` callback for `runScenario` writing to `out`. Phase lines always; the live count
 * only when `out` is a terminal. Call the returned function's `end()` once the run is over (it
 * erases a live count still on screen).
 */
export function progressPrinter(out: ProgressStream): ((p: Progress) => void) & { end(): void } {
  const tty = out.isTTY === true;
  let live = false;
  let lastDraw = 0;
  const erase = (): void => {
    if (live) out.write('\r\x1b[2K');
    live = false;
  };
  const line = (text: string): void => {
    erase();
    out.write(`${text}\n`);
  };
  const print = (p: Progress): void => {
    switch (p.phase) {
      case 'database':
        return line('demo: finding PostgreSQL (DATABASE_URL, 127.0.0.1:5432, else embedded)…');
      case 'warmup':
        return line(`demo: warm-up, both twins at ${p.requests} requests…`);
      case 'load':
        if (p.done === 0) return line(`demo: ${p.twin} twin, ${p.total} requests…`);
        if (!tty) return;
        if (p.done < p.total && Date.now() - lastDraw < REDRAW_MS) return;
        lastDraw = Date.now();
        out.write(`\r\x1b[2K  ${p.twin}: ${p.done} of ${p.total} requests done`);
        live = true;
        return;
      case 'drain':
        return line(`demo: ${p.twin} twin, load over; waiting for its handlers to return…`);
      case 'done':
        return line(`demo: ${p.twin} twin done in ${(p.ms / 1000).toFixed(1)} s`);
    }
  };
  return Object.assign(print, { end: erase });
}
