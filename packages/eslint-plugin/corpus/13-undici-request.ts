// Calls the billing API with undici; the request is not tied to the job's signal.
import { request } from 'undici';

export async function chargeCard(signal: AbortSignal, customerId: string, cents: number): Promise<string> {
  signal.throwIfAborted();
  const { statusCode, body } = await request('https://billing.internal/charges', { // expect: pass-context
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customerId, cents }),
  });
  if (statusCode >= 400) throw new Error(`charge failed with ${statusCode}`);
  const { id } = (await body.json()) as { id: string };
  return id;
}
