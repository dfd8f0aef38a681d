/**
 * A real daemon for black-box tests: in-process (startTestDaemon) or as a child process
 * (spawnTestDaemon, for signals and exit codes), listening on an ephemeral loopback port against
 * a test database. Both are closed at teardown.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

import { readDaemonSettings, readSecrets } from '../../src/config.js';
import { type Daemon, startDaemon } from '../../src/daemon.js';
import type { Embedder } from '../../src/embed/index.js';
import { log } from '../../src/log.js';
import { repoRoot } from '../../src/models/repo-paths.js';
import { contractProblems } from './contract.js';
import { listenUrlFor } from './db.js';
import { TEST_SECRETS } from './secrets.js';

// Request lines would drown the TAP output; MEMVAULT_LOG_LEVEL=info brings them back.
if (!process.env.MEMVAULT_LOG_LEVEL) log.level = 'warn';

interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

export { TEST_SECRETS } from './secrets.js';

export interface ApiResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (with the JSON content type unless headers say otherwise). */
  rawBody?: string | Buffer;
  /** null: no Authorization header; a string: that token. Default: the right token. */
  token?: string | null;
  headers?: Record<string, string>;
}

export interface ApiClient {
  readonly url: string;
  readonly token: string;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
}

/**
 * `checkContract`: throw when an answer breaks the OpenAPI document (test/helpers/contract.ts); on
 * for the real daemons below, off for test servers with routes of their own.
 */
export function apiClient(url: string, token: string, checkContract = false): ApiClient {
  return {
    url,
    token,
    async request(method, requestPath, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const auth = options.token === undefined ? token : options.token;
      if (auth !== null) headers.authorization = `Bearer ${auth}`;
      let body: string | Buffer | undefined;
      if (options.rawBody !== undefined) body = options.rawBody;
      else if (options.body !== undefined) body = JSON.stringify(options.body);
      if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(url + requestPath, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
      });
      const text = await res.text();
      let json: unknown = undefined;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = text;
      }
      const problems = !checkContract
        ? []
        : contractProblems({
            method,
            path: requestPath,
            status: res.status,
            contentType: res.headers.get('content-type'),
            json,
          });
      if (problems.length > 0)
        throw new Error(`the answer breaks the OpenAPI document: ${problems.join('; ')}`);
      return { status: res.status, headers: res.headers, json };
    },
  };
}

export interface TestDaemon extends ApiClient {
  readonly daemon: Daemon;
}

export interface TestDaemonOptions {
  databaseUrl: string;
  env?: Record<string, string>;
  embedder?: Embedder;
}

/** The daemon environment of a test: test keys, loopback on a free port, rerank off unless asked. */
function testDaemonEnv(options: TestDaemonOptions, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const listenUrl = listenUrlFor(options.databaseUrl);
  return {
    ...process.env,
    ...TEST_SECRETS,
    RERANK_ENABLED: 'false',
    MEMVAULT_HOST: '127.0.0.1',
    MEMVAULT_PORT: '0',
    DATABASE_URL: options.databaseUrl,
    // Through a pooler (test/pooler/), LISTEN goes to the direct connection.
    ...(listenUrl ? { MEMVAULT_LISTEN_URL: listenUrl } : {}),
    ...extra,
    ...options.env,
  };
}

export async function startTestDaemon(t: Teardown, options: TestDaemonOptions): Promise<TestDaemon> {
  const env = testDaemonEnv(options);
  const daemon = await startDaemon({
    settings: readDaemonSettings(env),
    secrets: readSecrets(env),
    databaseUrl: options.databaseUrl,
    embedder: options.embedder,
    env,
  });
  t.teardown(() => daemon.close());
  return { ...apiClient(daemon.url, TEST_SECRETS.MEMVAULT_API_TOKEN, true), daemon };
}

/** A `memvault` command running in a child process, through the same TypeScript loader as this test. */
export interface ChildCli {
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  output(): string;
}

/**
 * Spawns `memvault <args>` and resolves once its stdout matches `ready` (with the match), or rejects
 * with its output if it exits first or `timeoutMs` passes. SIGKILLed at teardown if still running.
 */
export async function spawnCliUntil(
  t: Teardown,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  timeoutMs = 60_000,
): Promise<ChildCli & { ready: RegExpExecArray }> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, path.join(repoRoot(), 'src', 'cli', 'main.ts'), ...args],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`memvault ${args.join(' ')} did not get ready:\n${output}`)),
      timeoutMs,
    );
    child.stdout!.on('data', () => {
      const found = ready.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`memvault ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
  return { child, exited, output: () => output, ready: match };
}

export type ChildDaemon = ApiClient & ChildCli;

/** `memvault serve` in a child process; resolves once the daemon logs that it is listening. */
export async function spawnTestDaemon(t: Teardown, options: TestDaemonOptions): Promise<ChildDaemon> {
  // Info level: the tests read the daemon's "listening" line and its shutdown messages.
  const env = testDaemonEnv(options, { MEMVAULT_LOG_LEVEL: 'info' });
  const cli = await spawnCliUntil(t, ['serve'], env, /"port":(\d+)[^\n]*memvault listening/);
  const { child, exited, output } = cli;
  return {
    ...apiClient(`http://127.0.0.1:${Number(cli.ready[1])}`, TEST_SECRETS.MEMVAULT_API_TOKEN, true),
    child,
    exited,
    output,
  };
}
