// Hedged read: a second replica is asked after 50 ms; the loser is aborted, and both follow the caller.
export async function hedgedGet(signal: AbortSignal, urls: [string, string]): Promise<string> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const first = fetch(urls[0], { signal: controller.signal }).then((r) => r.text());
    const second = new Promise<string>((resolve, reject) => {
      timer = setTimeout(() => fetch(urls[1], { signal: controller.signal }).then((r) => r.text()).then(resolve, reject), 50);
    });
    return await Promise.race([first, second]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    controller.abort();
  }
}
