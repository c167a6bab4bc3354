/**
 * Recognising an ioredis client by its shape, without importing ioredis (the root entry uses it, and
 * must load for a user who has only node-redis installed).
 */

/** True when `c` looks like an ioredis `Redis` instance (or a `Cluster`: see `isIoredisCluster`). */
export function looksLikeIoredis(c: unknown): boolean {
  if (typeof c !== 'object' || c === null) return false;
  const o = c as Record<string, unknown>;
  return typeof o['sendCommand'] === 'function' && typeof o['duplicate'] === 'function' && 'offlineQueue' in o;
}

/** True when `c` is an ioredis `Cluster`. */
export function isIoredisCluster(c: unknown): boolean {
  return typeof c === 'object' && c !== null && (c as { isCluster?: unknown }).isCluster === true;
}
