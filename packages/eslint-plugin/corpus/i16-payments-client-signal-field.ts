// set: independent
// A shared (singleton) payments client whose callers "set the signal" before a call. Two
// concurrent requests overwrite each other's signal.
export class PaymentsClient {
  private signal: AbortSignal | undefined; // expect: no-context-in-field

  constructor(private readonly baseUrl: string, private readonly apiKey: string) {}

  withSignal(signal: AbortSignal): this {
    this.signal = signal;
    return this;
  }

  async refund(paymentId: string, amountCents: number): Promise<boolean> {
    const res = await fetch(`${this.baseUrl}/payments/${paymentId}/refunds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.apiKey}` },
      body: JSON.stringify({ amount: amountCents }),
      signal: this.signal,
    });
    return res.ok;
  }
}

export const payments = new PaymentsClient('https://psp.example.com/v1', process.env.PSP_KEY ?? '');
