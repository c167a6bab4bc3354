// set: holdout
// A DAO that is built per request in a DI container and keeps the request's signal.
export class OrdersDao {
  constructor(private readonly baseUrl: string, private readonly signal: AbortSignal) {} // expect: no-context-in-field

  async byCustomer(customerId: string): Promise<unknown[]> {
    const res = await fetch(`${this.baseUrl}/orders?customer=${customerId}`, { signal: this.signal });
    return (await res.json()) as unknown[];
  }
}
