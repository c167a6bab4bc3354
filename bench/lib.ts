// Shared helpers for bench/*.bench.ts: interleaved rounds, medians, Markdown tables.
export interface Candidate {
  name: string;
  /** Runs the operation `n` times. */
  run(n: number): void;
}

/**
 * Median ns per operation for each candidate, measured in interleaved rounds. Each sample starts
 * with an empty young generation (a minor GC): a forced *full* GC would clear the hidden classes
 * that only dead objects used, which deoptimises the code under test, and the sample would time
 * the JIT warming up again rather than the operation.
 */
export function compare(candidates: Candidate[], n: number, rounds = 7): Map<string, number> {
  for (const c of candidates) c.run(Math.max(1, Math.floor(n / 10))); // warm-up
  return perOperation(
    compareStaged(
      candidates.map((c) => ({ name: c.name, setup: minorGcIfExposed, timed: () => c.run(n) })),
      rounds,
      0,
    ),
    n,
  );
}

/**
 * Like `compare`, for workloads whose cost is mostly allocation: no forced GC between samples
 * (a forced full GC deoptimises the code under test, so every sample would re-measure the JIT
 * warming up), so the garbage collector runs where the allocations put it, as in a service; each
 * sample runs the operation `n` times back to back, after `warmup` untimed rounds of each.
 */
export function compareNatural(candidates: Candidate[], n: number, rounds: number, warmup = 10): Map<string, number> {
  return perOperation(
    compareStaged(
      candidates.map((c) => ({ name: c.name, setup: () => undefined, timed: () => c.run(n) })),
      rounds,
      warmup,
    ),
    n,
  );
}

function perOperation(medians: Map<string, number>, n: number): Map<string, number> {
  return new Map([...medians].map(([k, v]) => [k, v / n]));
}

/** A candidate whose timed part needs untimed preparation (e.g. building a tree to cancel). */
export interface StagedCandidate<T> {
  name: string;
  /** Untimed: builds what `timed` consumes. */
  setup(): T;
  /** Timed. */
  timed(state: T): void;
}

/** Median ns of `timed` per candidate over interleaved rounds, after `warmup` rounds; no forced GC. */
export function compareStaged(candidates: StagedCandidate<any>[], rounds: number, warmup = 10): Map<string, number> {
  for (let w = 0; w < warmup; w++) for (const c of candidates) c.timed(c.setup());
  const samples = new Map<string, number[]>(candidates.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of candidates) {
      const state = c.setup();
      const t0 = process.hrtime.bigint();
      c.timed(state);
      samples.get(c.name)!.push(Number(process.hrtime.bigint() - t0));
    }
  }
  return new Map([...samples].map(([k, v]) => [k, median(v)]));
}

export function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(v: number[], p: number): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** A scavenge (young generation only) when run with --expose-gc; leaves optimised code alone. */
export function minorGcIfExposed(): void {
  (globalThis as { gc?: (o?: { type: string }) => void }).gc?.({ type: 'minor' });
}

export function gcIfExposed(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export function fmtNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

export function fmtBytes(b: number): string {
  const a = Math.abs(b);
  if (a >= 2 ** 20) return `${(b / 2 ** 20).toFixed(2)} MiB`;
  if (a >= 2 ** 10) return `${(b / 2 ** 10).toFixed(1)} KiB`;
  return `${b.toFixed(0)} B`;
}

export function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function progress(msg: string): void {
  process.stderr.write(`  ${msg}\n`);
}
