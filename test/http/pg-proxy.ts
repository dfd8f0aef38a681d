/**
 * A switchable proxy in front of the test cluster's Unix socket, so one test can make "the
 * database" unreachable without stopping the cluster other test files share. Modes:
 *   pass      forward bytes both ways;
 *   refuse    close the listening socket and every open connection (connection refused);
 *   blackhole accept connections and never answer (the client's connect timeout must fire).
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

export interface PgProxy {
  /** A connection string like `url`, but through the proxy. */
  readonly url: string;
  setMode(mode: ProxyMode): Promise<void>;
  close(): Promise<void>;
}

/** `url` must use a Unix socket (host=<dir>&port=<port>), as the test cluster's URLs do. */
export async function startPgProxy(url: string): Promise<PgProxy> {
  // `postgresql://user@/db?host=...` has no authority host, which WHATWG URL rejects.
  const [base, query = ''] = url.split('?') as [string, string?];
  const params = new URLSearchParams(query);
  const socketDir = params.get('host')!;
  const port = params.get('port')!;
  const target = path.join(socketDir, `.s.PGSQL.${port}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'mv-proxy-'));
  const listenPath = path.join(dir, `.s.PGSQL.${port}`);
  const sockets = new Set<net.Socket>();
  let mode: ProxyMode = 'pass';
  let server: net.Server | undefined;

  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = net.createServer((client) => {
        track(client);
        if (mode === 'blackhole') return;
        const upstream = net.connect(target);
        track(upstream);
        client.pipe(upstream).pipe(client);
        upstream.on('close', () => client.destroy());
        client.on('close', () => upstream.destroy());
      });
      server.once('error', reject);
      server.listen(listenPath, () => resolve());
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });

  await listen();
  params.set('host', dir);
  return {
    url: `${base}?${params.toString()}`,
    async setMode(next) {
      if (next === mode) return;
      const wasListening = mode !== 'refuse';
      mode = next;
      for (const socket of sockets) socket.destroy();
      if (next === 'refuse' && wasListening) await stop();
      if (next !== 'refuse' && !wasListening) await listen();
    },
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
