// set: independent
// Payment capture with its own 3 s abort timer. The controller is not linked to the caller's
// signal, so a cancelled checkout still waits for (and performs) the capture.
export async function capturePayment(signal: AbortSignal, paymentId: string, amountCents: number): Promise<boolean> {
  if (signal.aborted) throw signal.reason;
  const ac = new AbortController(); // expect: no-background-in-scope
  const timer = setTimeout(() => ac.abort(new Error('capture timed out')), 3_000);
  try {
    const res = await fetch(`https://psp.example.com/v1/payments/${paymentId}/capture`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: amountCents }),
      signal: ac.signal,
    });
    return res.ok;
  } finally {
    clearTimeout(timer);
  }
}
