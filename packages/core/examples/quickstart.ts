import { background, withTimeout, sleep, Group, isContextError, type Context } from '@ctxkit/core';

// Functions that do I/O or wait take ctx first and hand it on.
async function lookupPrice(ctx: Context, item: string, ms: number): Promise<number> {
  await sleep(ctx, ms); // stands in for a query: stops waiting the moment ctx ends
  return item.length * 10;
}

async function quote(ctx: Context, items: Record<string, number>): Promise<number> {
  // The whole quote gets 100 ms; `using` cancels the scope at block exit on every path.
  using scope = withTimeout(ctx, 100, new Error('quote budget of 100 ms spent'));
  const group = new Group(scope.ctx, { limit: 2 });
  let total = 0;
  for (const [item, ms] of Object.entries(items)) {
    group.go(async (gctx) => {
      const price = await lookupPrice(gctx, item, ms);
      total += price;
    });
  }
  await group.wait();
  return total;
}

console.log('fast quote:', await quote(background(), { tea: 10, cake: 20 }));
try {
  await quote(background(), { tea: 10, 'slow cake': 5_000 });
} catch (e) {
  if (!isContextError(e)) throw e;
  console.log(`slow quote stopped: ${(e as Error).name}: ${((e as Error).cause as Error).message}`);
}
