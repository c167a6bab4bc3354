// set: independent
// A legacy SDK wants an AbortController it can abort itself on its own errors. The controller is
// linked to the caller's signal and unlinked (listener removed) in finally.
interface LegacyUploader {
  upload(file: string, opts: { controller: AbortController }): Promise<string>;
}

export async function uploadWithSdk(sdk: LegacyUploader, file: string, signal: AbortSignal): Promise<string> {
  signal.throwIfAborted();
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await sdk.upload(file, { controller });
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
