// A long-lived client that keeps the signal of whoever called start().
export class PriceFeed {
  private signal?: AbortSignal; // expect: no-context-in-field
  private latest = new Map<string, number>();

  start(signal: AbortSignal): void {
    this.signal = signal;
  }

  async refresh(symbol: string): Promise<number> {
    const res = await fetch(`https://feed.example.com/${symbol}`, this.signal ? { signal: this.signal } : undefined);
    const price = Number(await res.text());
    this.latest.set(symbol, price);
    return price;
  }
}
