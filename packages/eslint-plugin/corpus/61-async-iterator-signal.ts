// Consumes a paginated API as an async generator that honours the signal between pages.
export interface Page<T> { items: T[]; next?: string }

export async function* pages<T>(signal: AbortSignal, firstUrl: string): AsyncGenerator<T[]> {
  let url: string | undefined = firstUrl;
  while (url !== undefined) {
    signal.throwIfAborted();
    const res = await fetch(url, { signal });
    const page = (await res.json()) as Page<T>;
    yield page.items;
    url = page.next;
  }
}

export async function countAll(signal: AbortSignal, url: string): Promise<number> {
  let n = 0;
  for await (const items of pages<unknown>(signal, url)) n += items.length;
  return n;
}
