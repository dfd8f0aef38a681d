/**
 * A real memvault daemon for the HTTP suites, in a child process: the load generator and the
 * server must not share an event loop, or the client's own work would show up as server latency.
 * It runs `memvault serve` from the built package against a bench database, with generated keys
 * (returned, so a suite can compute tenant hashes for its baselines) and the fixture reranker.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { generateKeyBase64 } from '../crypto/index.js';
import { repoRoot } from '../models/repo-paths.js';
import { HttpClient } from './http.js';

export interface DaemonChild {
  url: string;
  token: string;
  keys: { MEMORY_ENCRYPTION_KEY: string; MEMORY_TENANT_HMAC_KEY: string };
  child: ChildProcess;
  client: HttpClient;
  /** SIGTERM and wait (SIGKILL after 15 s). */
  stop(): Promise<number | null>;
  /** The last lines the daemon wrote, for error reports. */
  output(): string;
}

/** dist/cli/main.js next to this module when built, else the repository's dist (under tap). */
export function cliEntry(): string {
  const beside = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  if (existsSync(beside)) return beside;
  const built = path.join(repoRoot(), 'dist', 'cli', 'main.js');
  if (existsSync(built)) return built;
  throw new Error('dist/cli/main.js not found: run `npm run build` first');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function spawnDaemon(options: {
  databaseUrl: string;
  rerankModel?: string | undefined;
  env?: Record<string, string>;
  keys?: DaemonChild['keys'];
  readyTimeoutMs?: number;
}): Promise<DaemonChild> {
  const port = await freePort();
  const token = randomBytes(24).toString('base64url');
  const keys = options.keys ?? {
    MEMORY_ENCRYPTION_KEY: generateKeyBase64(),
    MEMORY_TENANT_HMAC_KEY: generateKeyBase64(),
  };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    DATABASE_URL: options.databaseUrl,
    MEMVAULT_HOST: '127.0.0.1',
    MEMVAULT_PORT: String(port),
    MEMVAULT_API_TOKEN: token,
    MEMVAULT_LOG_LEVEL: 'warn',
    ...keys,
    ...(options.rerankModel
      ? { RERANK_MODEL: options.rerankModel, RERANK_DEVICE: 'cpu', RERANK_ENABLED: 'true' }
      : { RERANK_ENABLED: 'false' }),
    ...options.env,
  };
  const child = spawn(process.execPath, [cliEntry(), 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer): void => {
    tail = (tail + d.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const client = new HttpClient(url, token);
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  let ready = false;
  while (!ready && Date.now() < deadline && child.exitCode === null) {
    ready = await client.request('GET', '/readyz').then(
      (r) => r.status === 200,
      () => false,
    );
    if (!ready) await new Promise((r) => setTimeout(r, 200));
  }
  const stop = async (): Promise<number | null> => {
    client.close();
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  if (!ready) {
    await stop();
    throw new Error(`the daemon did not become ready: ${tail.trim().slice(-1500)}`);
  }
  return { url, token, keys, child, client, stop, output: () => tail };
}
