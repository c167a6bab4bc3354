// The "current request" signal kept in a module variable, shared by concurrent requests.
let currentSignal: AbortSignal | undefined; // expect: no-context-in-field

export function beginRequest(signal: AbortSignal): void {
  currentSignal = signal;
}

export async function lookup(path: string): Promise<unknown> {
  const res = await fetch(`http://catalog.internal${path}`, currentSignal ? { signal: currentSignal } : {});
  return res.json();
}
