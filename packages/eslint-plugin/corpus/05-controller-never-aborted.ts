// A controller made "to be able to cancel later" that nothing ever aborts.
export async function downloadReport(url: string): Promise<ArrayBuffer> {
  const controller = new AbortController(); // expect: lost-cancel
  const res = await fetch(url, { signal: controller.signal });
  if (!res.ok) throw new Error(`report download failed: ${res.status}`);
  return res.arrayBuffer();
}
