/** What both twins' handlers are given: the harness's meter and each request's work plan. */
import type { Meter, Segment, Where } from './meter.js';
import type { WorkPlan } from './plan.js';

/** Shared by the handlers of one twin. */
export interface Env {
  readonly meter: Meter;
  /** The work plan of a request id (same for both twins). */
  plan(id: string): WorkPlan;
}

/** Shorthands a handler uses to time its steps and calls for request `id`. */
export interface Track {
  step<T>(label: string, run: () => Promise<T>): Promise<T>;
  call<T>(label: string, run: () => Promise<T>): Promise<T>;
  query<T>(label: string, run: () => Promise<T>): Promise<T>;
}

/** The `Track` of request `id` at `where`. */
export function track(meter: Meter, id: string, where: Where): Track {
  const t =
    (kind: Segment['kind']) =>
    <T>(label: string, run: () => Promise<T>) =>
      meter.track(id, where, kind, label, run);
  return { step: t('step'), call: t('call'), query: t('query') };
}
