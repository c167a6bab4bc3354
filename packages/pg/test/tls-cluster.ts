// A throwaway PostgreSQL cluster that accepts only TLS connections, for the test of cancel
// requests over TLS: initdb in a temporary directory from the machine's PostgreSQL binaries
// (the newest /usr/lib/postgresql/<version>/bin, or PG_BINDIR, or `pg_config --bindir`), a
// self-signed certificate made with openssl for 127.0.0.1/localhost, `ssl = on`, and a pg_hba.conf
// whose only rule is `hostssl … trust`. Run as the OS user `postgres` when this process is root
// (PostgreSQL refuses root). `stop()` stops the server this helper started and deletes the directory.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface TlsCluster {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The server's self-signed certificate (PEM), to pass as `ssl.ca`. */
  readonly ca: string;
  /** Stops the server and deletes its directory. */
  stop(): Promise<void>;
}

function bindir(): string {
  const fromEnv = process.env['PG_BINDIR'];
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(root, versions[0]!, 'bin');
  }
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('no PostgreSQL binaries found (looked in /usr/lib/postgresql/*/bin, PG_BINDIR, pg_config --bindir)');
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** The uid/gid to run PostgreSQL as: the OS user `postgres` when this process is root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root and there is no "postgres" OS user to run PostgreSQL as');
  }
}

/** Starts the cluster; rejects with what went wrong (the server's last log lines included). */
export async function startTlsCluster(): Promise<TlsCluster> {
  const bin = bindir();
  const user = runAs();
  const dir = await mkdtemp(join(tmpdir(), 'ctxkit-pg-tls-'));
  let server: ChildProcess | undefined;
  const log: string[] = [];
  const cleanup = async (): Promise<void> => {
    if (server !== undefined && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGINT'); // fast shutdown of the server this helper started
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const data = join(dir, 'data');
    const key = join(dir, 'server.key');
    const crt = join(dir, 'server.crt');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        crt,
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    await chmod(key, 0o600);
    if (user !== undefined) {
      for (const p of [dir, key, crt]) await chown(p, user.uid, user.gid);
    }
    execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'], {
      stdio: 'ignore',
      cwd: dir,
      ...user,
    });
    await writeFile(join(data, 'pg_hba.conf'), 'hostssl all all 127.0.0.1/32 trust\n');
    if (user !== undefined) await chown(join(data, 'pg_hba.conf'), user.uid, user.gid);
    const port = await freePort();
    const proc = spawn(
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${dir}`,
        '-c',
        'ssl=on',
        '-c',
        `ssl_cert_file=${crt}`,
        '-c',
        `ssl_key_file=${key}`,
        '-c',
        'fsync=off',
        '-c',
        'logging_collector=off',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, ...user },
    );
    server = proc;
    await new Promise<void>((resolve, reject) => {
      proc.stderr!.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') log.push(line);
        if (log.length > 30) log.splice(0, log.length - 30);
        if (log.some((l) => l.includes('database system is ready to accept connections'))) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`postgres exited with ${code}`)));
      proc.once('error', reject);
    });
    proc.stderr!.resume();
    const ca = await readFile(crt, 'utf8');
    let stopped = false;
    return {
      host: '127.0.0.1',
      port,
      ca,
      async stop() {
        if (stopped) return;
        stopped = true;
        await cleanup();
      },
    };
  } catch (e) {
    await cleanup().catch(() => {});
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`could not start a TLS-only PostgreSQL from ${bin}: ${why}${log.length ? `\n    ${log.join('\n    ')}` : ''}`);
  }
}
