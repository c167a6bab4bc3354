// Health probe with node:http inside a check that has a signal.
import { request } from 'node:http';

export function probe(signal: AbortSignal, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/healthz', method: 'GET' }, (res) => { // expect: pass-context
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
