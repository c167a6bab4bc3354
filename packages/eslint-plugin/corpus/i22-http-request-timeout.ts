// set: independent
// Legacy node:http client for an internal service: the caller's context signal plus a fixed
// socket timeout of 10 s that ignores how much of the caller's budget is left.
import http from 'node:http';
import type { Context } from '@ctxkit/core';

export function getStatus(ctx: Context, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: 8080, path: '/status', method: 'GET', signal: ctx.signal, timeout: 10_000 }, (res) => { // expect: no-double-timeout
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('status request timed out')));
    req.on('error', reject);
    req.end();
  });
}
