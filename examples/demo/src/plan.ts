/**
 * What each request does and what its client does, derived from the seed and the request id
 * alone — identical for the naive twin and the ctxkit twin.
 */
import { between, prng } from './rng.js';

/** Work the services do for one request (milliseconds of simulated work per step). */
export interface WorkPlan {
  /** Front service: authenticate the caller. */
  readonly authMs: number;
  /**
   * Back service: load the request's state — an SQL statement that runs this long in PostgreSQL
   * (a timer when no database is available) — then ~200 KB of rows kept until the handler ends.
   */
  readonly loadMs: number;
  /** The slow dependency's time to answer (the back's downstream call). */
  readonly dependencyMs: number;
  /** Back service: render the answer. */
  readonly renderMs: number;
}

/** What the client of one request does. */
export interface ClientPlan {
  /** Milliseconds after sending at which the client gives up and destroys its socket; undefined = waits for the answer. */
  readonly abandonAfterMs: number | undefined;
}

/** Shape of the scenario's randomness. Every abandonment lands before the earliest possible answer. */
export const PLAN_LIMITS = {
  authMs: [10, 40],
  loadMs: [150, 350],
  dependencyMs: [150, 400],
  renderMs: [40, 100],
  abandonAfterMs: [40, 300],
} as const;

function mix(seed: number, id: number, salt: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(id + 1, 0xc2b2ae35) ^ salt) >>> 0;
}

/** The work plan of request `id` under `seed`. */
export function workPlan(seed: number, id: number): WorkPlan {
  const r = prng(mix(seed, id, 0x1234));
  return {
    authMs: between(r, ...PLAN_LIMITS.authMs),
    loadMs: between(r, ...PLAN_LIMITS.loadMs),
    dependencyMs: between(r, ...PLAN_LIMITS.dependencyMs),
    renderMs: between(r, ...PLAN_LIMITS.renderMs),
  };
}

/** The client plan of request `id`: abandoned with probability `abandonRate`. */
export function clientPlan(seed: number, id: number, abandonRate: number): ClientPlan {
  const r = prng(mix(seed, id, 0xabcd));
  const abandon = r() < abandonRate;
  return { abandonAfterMs: abandon ? between(r, ...PLAN_LIMITS.abandonAfterMs) : undefined };
}
