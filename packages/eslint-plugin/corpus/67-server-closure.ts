// A tiny server whose request handlers derive from the server's context and honour it.
import { createServer, type Server } from 'node:http';
import { withCancel, type Context } from '@ctxkit/core';

export function start(ctx: Context, port: number, upstream: string): Server {
  const server = createServer((req, res) => {
    const scope = withCancel(ctx);
    res.on('close', () => scope.cancel());
    fetch(upstream + (req.url ?? '/'), { signal: scope.ctx.signal })
      .then(async (r) => {
        res.writeHead(r.status);
        res.end(await r.text());
      })
      .catch((e: unknown) => {
        res.writeHead(scope.ctx.err ? 499 : 502);
        res.end(String(e));
      });
  });
  server.listen(port);
  ctx.done.then(() => server.close(), () => undefined);
  return server;
}
