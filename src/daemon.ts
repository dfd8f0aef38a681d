/**
 * The daemon: wires configuration, the connection pool, the settings listener, the reranker, the
 * embedder and the HTTP server, and takes them down again in order.
 *
 * Shutdown (SIGTERM / SIGINT, see cli/commands/serve.ts) is two-phase:
 *   1. stop intake: close the listening socket; requests arriving on kept-alive connections get a
 *      503 `shutting_down`; readiness turns 503 so a load balancer drains this instance;
 *   2. drain: wait for the requests in flight (a write either commits and is answered, or never
 *      started), then close the listener, the pool and the inference workers.
 * A timer (MEMVAULT_SHUTDOWN_TIMEOUT_MS, unref'd so it never keeps the process alive by itself)
 * forces the exit if draining hangs.
 *
 * Exit codes (serve / start):
 *   0   clean shutdown after SIGTERM or SIGINT
 *   1   unexpected fatal error
 *   2   usage error (unknown arguments)
 *   69  the database was unreachable at start (EX_UNAVAILABLE; systemd restarts and retries)
 *   70  shutdown did not finish within MEMVAULT_SHUTDOWN_TIMEOUT_MS, or a second signal (forced)
 *   78  configuration error (EX_CONFIG; the unit does not restart on it: fix the configuration)
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { Counter } from 'prom-client';

import {
  type DaemonSettings,
  type EmbeddedDatabase,
  embeddedSchemaDim,
  ensureEmbeddedSecrets,
  prepareEmbeddedDatabase,
  readDaemonSettings,
  readSecrets,
  type Secrets,
} from './config.js';
import { configureCrypto } from './crypto/index.js';
import { DatabaseUnavailableError } from './db/errors.js';
import { type MemoryEvent, type SettingsListener, startSettingsListener } from './db/listen.js';
import { createPool, type Pool, poolUsage } from './db/pool.js';
import { type Health, health } from './db/procedures.js';
import { ReplicaRouter } from './db/replicas.js';
import { createEmbedder, type Embedder } from './embed/index.js';
import { type Env } from './env.js';
import { ConfigError } from './errors.js';
import { bearerTokenCheck } from './http/auth.js';
import { trackPool } from './http/metrics.js';
import { apiRoutes } from './http/routes/index.js';
import type { Readiness } from './http/routes/ops.js';
import { type ApiServer, createApiServer } from './http/server.js';
import { activeKeyRing, setActiveKekOverride, storedActiveKekId } from './keys/active-ring.js';
import { registerKeyStatsCollector } from './keys/metrics.js';
import { TenantKeyStore } from './keys/tenant-key-store.js';
import { log } from './log.js';
import type { MemoryContext } from './memory/context.js';
import { QueryEmbeddingCache } from './memory/query-embeddings.js';
import { applyRetrievalSettings, currentRetrievalSettings } from './memory/retrieval-settings.js';
import { collectProcessMetrics, registry } from './metrics.js';
import { migrationsFolder } from './paths.js';
import {
  applyRerankSettings,
  closeReranker,
  currentRerankSettings,
  getRerankerState,
  getRerankMetrics,
  preloadCrossEncoder,
  readRerankConfig,
  type RerankSettings,
} from './rerank/index.js';
import { unknownVariables } from './variables.js';

export const EXIT = { ok: 0, fatal: 1, usage: 2, databaseUnavailable: 69, forced: 70, config: 78 } as const;

export interface DaemonOptions {
  settings: DaemonSettings;
  secrets: Secrets;
  databaseUrl: string;
  /** Created by the caller (its dimension may have decided the embedded schema's). */
  embedder?: Embedder | undefined;
  /** Rerank variables (defaults for settings that memory.settings does not override). */
  env?: Env;
}

export interface Daemon {
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly embeddingDim: number;
  readonly pool: Pool;
  readonly listener: SettingsListener;
  readonly api: ApiServer;
  /** Two-phase graceful shutdown; resolves when everything is closed. Idempotent. */
  close(): Promise<void>;
}

const eventCounter = new Counter({
  name: 'memvault_memory_events_total',
  help: 'memory_events notifications received, by event (known names only; anything else is "ignored")',
  labelNames: ['event'],
  registers: [registry],
});

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { settings, secrets } = options;
  collectProcessMetrics();
  configureCrypto(secrets.crypto);
  const pool = createPool({
    connectionString: options.databaseUrl,
    max: settings.poolMax,
    connectionTimeoutMillis: settings.dbConnectTimeoutMs,
    statementTimeoutMillis: settings.dbStatementTimeoutMs,
    applicationName: 'memvault',
  });
  const shutdown = new ShutdownSteps();
  shutdown.add('pool metrics', trackPool(pool));
  shutdown.add('database pool', () => pool.end());
  // Read by the settings listener (no reranker preload once closing) and by readiness.
  const lifecycle = { shuttingDown: false };

  try {
    const embedder = options.embedder;
    const { schema, committedMigrations } = await checkSchema(pool, embedder);
    const keys = new TenantKeyStore(pool, activeKeyRing, {
      maxTenants: settings.dekCacheTenants,
      ttlMs: settings.dekCacheTtlMs,
    });
    const rerankDefaults = readRerankConfig(options.env ?? process.env);
    // The settings listener may start loading the reranker from its first read on.
    shutdown.add('reranker', closeReranker);
    const listener = await listenForSettings({
      pool,
      connectionString: settings.listenUrl ?? options.databaseUrl,
      connectTimeoutMs: settings.dbConnectTimeoutMs,
      rerankDefaults,
      keys,
      lifecycle,
    });
    shutdown.add('settings listener', () => listener.close());
    // Key rotation and re-seal progress (counts the key jobs publish) on this daemon's /metrics.
    shutdown.add(
      'key stats metrics',
      registerKeyStatsCollector(pool, () => activeKeyRing().activeKeyId),
    );
    const reads = await startReadReplicas(pool, settings, shutdown);

    const queryCache = settings.queryEmbeddingCache;
    const memory: MemoryContext = {
      pool,
      dim: schema.embeddingDim,
      embedder,
      keys,
      reads,
      queryEmbeddings: embedder && queryCache > 0 ? new QueryEmbeddingCache(queryCache) : undefined,
    };
    const api = createApiServer({
      routes: apiRoutes({
        readiness: readinessCheck({ pool, listener, embedder, reads, committedMigrations, lifecycle }),
        memoryMetrics: () => ({
          rerank: getRerankMetrics(),
          reranker: getRerankerState(),
          settings: currentRerankSettings(),
          listener: { ...listener.state },
          pool: poolUsage(pool),
        }),
        memory,
      }),
      checkToken: bearerTokenCheck(secrets.apiToken),
      maxBodyBytes: settings.maxBodyBytes,
      maxBodyBytesInFlight: settings.maxBodyBytesInFlight,
      maxInFlight: settings.maxInFlight,
      requestTimeoutMs: settings.requestTimeoutMs,
    });
    const address = await listenOn(api, settings);
    // Ours from here on: until the server listens, a failed start leaves the embedder to its
    // owner (startDaemonFromEnv closes it).
    if (embedder) shutdown.add('embedder', () => embedder.close());
    shutdown.add('http connections', () => api.destroyConnections());
    log.info(
      {
        host: address.host,
        port: address.port,
        embedding_dim: schema.embeddingDim,
        embedder: Boolean(embedder),
        pool_max: settings.poolMax,
      },
      'memvault listening',
    );

    return {
      url: `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`,
      port: address.port,
      host: address.host,
      embeddingDim: schema.embeddingDim,
      pool,
      listener,
      api,
      close: gracefulClose(api, shutdown, lifecycle),
    };
  } catch (thrown) {
    await shutdown.run();
    throw thrown;
  }
}

const CLEANUP_STEP_TIMEOUT_MS = 5_000;

/**
 * What to close at shutdown (or after a failed start), added in start order and run newest first.
 * Each step is bounded: a step that hangs (a connection stuck on a dying server, say, or an
 * inference worker that does not stop) is logged by name and skipped, so shutdown always finishes
 * and the next steps still run.
 */
class ShutdownSteps {
  readonly #steps: Array<[string, () => Promise<void> | void]> = [];

  add(name: string, step: () => Promise<void> | void): void {
    this.#steps.push([name, step]);
  }

  async run(): Promise<void> {
    for (const [name, step] of [...this.#steps].reverse()) {
      const outcome = await boundedStep(Promise.resolve().then(step), CLEANUP_STEP_TIMEOUT_MS);
      if (outcome === 'timeout') log.warn({ step: name }, 'shutdown step timed out; continuing');
    }
  }
}

/**
 * The daemon's close(): stop intake (readiness turns 503), drain the requests in flight, then run
 * the shutdown steps. Idempotent: every call gets the same promise.
 */
function gracefulClose(
  api: ApiServer,
  shutdown: ShutdownSteps,
  lifecycle: { shuttingDown: boolean },
): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () =>
    (closing ??= (async () => {
      lifecycle.shuttingDown = true;
      log.info({ in_flight: api.inFlight }, 'shutting down: intake stopped, draining');
      await api.stopIntake();
      // Unbounded here: `serve` forces the exit (code 70) when the drain outlasts
      // MEMVAULT_SHUTDOWN_TIMEOUT_MS, so a forced shutdown is reported as one.
      await api.drained();
      await shutdown.run();
      log.info('shutdown complete');
    })());
}

/**
 * The schema the daemon will serve: its embedding dimension must be the embedder's (a ConfigError
 * otherwise), and a database behind the committed migrations is logged (readiness reports it).
 */
async function checkSchema(
  pool: Pool,
  embedder: Embedder | undefined,
): Promise<{ schema: Health; committedMigrations: number }> {
  const schema = await health(pool);
  if (embedder && embedder.dimension !== schema.embeddingDim) {
    throw new ConfigError(
      'MEMVAULT_EMBED_MODEL',
      `the model produces ${embedder.dimension}-dimensional embeddings but the schema was migrated with ${schema.embeddingDim}`,
    );
  }
  const committedMigrations = countCommittedMigrations();
  if (schema.migrationCount < committedMigrations) {
    log.warn(
      { applied: schema.migrationCount, committed: committedMigrations },
      'the database is behind the committed migrations: run `memvault migrate`',
    );
  }
  return { schema, committedMigrations };
}

/**
 * The daemon's settings listener: live settings applied on every read (rerank, retrieval, the
 * active KEK), memory_events counted, and cached keys dropped when another process destroyed or
 * replaced them.
 */
function listenForSettings(options: {
  pool: Pool;
  /** LISTEN needs a session of its own: a direct connection when DATABASE_URL is a pooler. */
  connectionString: string;
  connectTimeoutMs: number;
  rerankDefaults: RerankSettings;
  keys: TenantKeyStore;
  lifecycle: { readonly shuttingDown: boolean };
}): Promise<SettingsListener> {
  const { keys, lifecycle } = options;
  return startSettingsListener({
    connectionString: options.connectionString,
    pool: options.pool,
    connectTimeoutMs: options.connectTimeoutMs,
    onSettings: (stored) => {
      applyLiveSettings(stored, options.rerankDefaults);
      setActiveKekOverride(storedActiveKekId(stored));
      // Load the reranker in the background once the live settings say it is on (the first
      // read runs as the listener connects, so normally at start-up): otherwise the first
      // queries would all pay the load and miss their budget. Readiness does not wait for it.
      if (!lifecycle.shuttingDown) preloadCrossEncoder();
    },
    onEvent: (event: MemoryEvent) => {
      eventCounter.inc({ event: event.event });
      // Another process destroyed or replaced these keys: do not keep using a cached copy.
      if (event.dek_ids) keys.forgetKeys(event.dek_ids);
    },
    onIgnoredEvent: () => eventCounter.inc({ event: 'ignored' }),
  });
}

/** The read replicas of MEMVAULT_READ_URL, started; undefined when none is configured. */
async function startReadReplicas(
  pool: Pool,
  settings: DaemonSettings,
  shutdown: ShutdownSteps,
): Promise<ReplicaRouter | undefined> {
  if (settings.readUrls.length === 0) return undefined;
  const reads = new ReplicaRouter({
    primary: pool,
    urls: settings.readUrls,
    maxLagMs: settings.readMaxLagMs,
    waitMs: settings.readWaitMs,
    poolMax: settings.poolMax,
    connectTimeoutMs: settings.dbConnectTimeoutMs,
    statementTimeoutMs: settings.dbStatementTimeoutMs,
  });
  shutdown.add('read replicas', () => reads.close());
  await reads.start();
  return reads;
}

/**
 * GET /readyz: ready while the database answers and its migrations are current, and not shutting
 * down. The listener, reranker, embedder and replicas are reported but never block readiness (a
 * replica down or behind sends reads to the primary).
 */
function readinessCheck(parts: {
  pool: Pool;
  listener: SettingsListener;
  embedder: Embedder | undefined;
  reads: ReplicaRouter | undefined;
  committedMigrations: number;
  lifecycle: { readonly shuttingDown: boolean };
}): () => Promise<Readiness> {
  const { pool, listener, embedder, reads, committedMigrations, lifecycle } = parts;
  return async () => {
    const checks: Record<string, unknown> = {
      listener: { ...listener.state },
      reranker: getRerankerState(),
      embedder: embedder ? { dimension: embedder.dimension, device: embedder.device } : null,
      ...(reads ? { read_replicas: reads.state } : {}),
    };
    if (lifecycle.shuttingDown) return { ready: false, checks: { ...checks, shutting_down: true } };
    try {
      const now = await health(pool);
      const current = now.migrationCount >= committedMigrations;
      checks.database = {
        ok: true,
        migrations_current: current,
        migration_count: now.migrationCount,
        embedding_dim: now.embeddingDim,
        vector_version: now.vectorVersion,
      };
      return { ready: current, checks };
    } catch (thrown) {
      checks.database = { ok: false, code: (thrown as { code?: string }).code ?? 'error' };
      return { ready: false, checks };
    }
  };
}

/** Listens on MEMVAULT_HOST:MEMVAULT_PORT; a port that cannot be had is a ConfigError naming it. */
function listenOn(api: ApiServer, settings: DaemonSettings): ReturnType<ApiServer['listen']> {
  return api.listen(settings.port, settings.host).catch((thrown: NodeJS.ErrnoException) => {
    throw new ConfigError(
      'MEMVAULT_PORT',
      `cannot listen on ${settings.host}:${settings.port} (${thrown.code ?? 'error'})`,
    );
  });
}

/** Waits for `work` at most `ms`; never rejects (a failed step is as finished as a done one). */
async function boundedStep(work: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
  });
  try {
    return await Promise.race([
      work.then(
        () => 'done' as const,
        () => 'done' as const,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Settings not stored in memory.settings fall back to the environment's values. */
function applyLiveSettings(stored: Record<string, unknown>, defaults: RerankSettings): void {
  const next: RerankSettings = {
    enabled: typeof stored.rerank_enabled === 'boolean' ? stored.rerank_enabled : defaults.enabled,
    circuitMs: typeof stored.rerank_circuit_ms === 'number' ? stored.rerank_circuit_ms : defaults.circuitMs,
    rolloutPercent:
      typeof stored.rerank_rollout_percent === 'number'
        ? stored.rerank_rollout_percent
        : defaults.rolloutPercent,
  };
  const retrievalBefore = JSON.stringify(currentRetrievalSettings());
  const retrieval = applyRetrievalSettings(stored);
  if (JSON.stringify(retrieval) !== retrievalBefore)
    log.info({ retrieval }, 'live retrieval settings applied');
  try {
    const before = JSON.stringify(currentRerankSettings());
    const applied = applyRerankSettings(next);
    // Re-reads happen on every notification and reconnect; log only actual changes.
    if (JSON.stringify(applied) !== before) log.info({ settings: applied }, 'live settings applied');
  } catch (thrown) {
    log.warn({ field: (thrown as { field?: string }).field }, 'ignored an invalid live setting');
  }
}

function countCommittedMigrations(): number {
  try {
    return readdirSync(join(migrationsFolder, 'committed')).filter((f) => f.endsWith('.sql')).length;
  } catch {
    return 0;
  }
}

export interface StartFromEnvOptions {
  /** For `memvault start`: an embedding model folder to use when MEMVAULT_EMBED_MODEL is unset. */
  defaultEmbedModel?: string | undefined;
  /** Override MEMVAULT_PORT etc. without touching the environment (demo: port 0). */
  overrides?: Record<string, string>;
}

export interface StartedFromEnv {
  daemon: Daemon;
  settings: DaemonSettings;
  embedded: EmbeddedDatabase | undefined;
  /** Where generated secrets live (embedded mode), and which were generated now. */
  secretsFile: string | undefined;
  generatedSecrets: string[];
  /** The token, for printing a curl example in `memvault start` (never logged). */
  apiToken: string;
}

/**
 * Reads the configuration, prepares the embedded database when DATABASE_URL is absent, loads the
 * embedder and starts the daemon. Throws ConfigError for bad configuration and
 * DatabaseUnavailableError when the database cannot be reached.
 */
export async function startDaemonFromEnv(
  baseEnv: Env = process.env,
  options: StartFromEnvOptions = {},
): Promise<StartedFromEnv> {
  let env: Env = { ...baseEnv, ...options.overrides };
  if (!env.MEMVAULT_EMBED_MODEL && options.defaultEmbedModel)
    env = { ...env, MEMVAULT_EMBED_MODEL: options.defaultEmbedModel };
  const settings = readDaemonSettings(env);
  // Not fatal: one EnvironmentFile may serve other tools too. But a misspelt name would otherwise
  // leave its default in force without a word.
  for (const unknown of unknownVariables(env)) {
    log.warn(
      { variable: unknown.name, ...(unknown.suggestion ? { did_you_mean: unknown.suggestion } : {}) },
      'unknown environment variable ignored',
    );
  }

  // Production fails fast on missing secrets; the embedded default completes them after the
  // cluster exists (it creates MEMVAULT_HOME with the permissions its server user needs).
  let secrets = settings.databaseUrl === undefined ? undefined : readSecrets(env);
  let embedded: EmbeddedDatabase | undefined;
  let secretsFile: string | undefined;
  let generatedSecrets: string[] = [];

  const embedder = settings.embed ? await createEmbedder(settings.embed.model, settings.embed) : undefined;
  try {
    let databaseUrl = settings.databaseUrl;
    if (databaseUrl === undefined) {
      // A fresh embedded schema takes the embedder's dimension, so the one-command start works
      // with server-side embeddings; an existing schema keeps its own (checked in startDaemon).
      embedded = await prepareEmbeddedDatabase(settings.home, embeddedSchemaDim(settings, embedder));
      databaseUrl = embedded.databaseUrl;
      log.info({ created: embedded.created, applied: embedded.applied }, 'embedded database ready');
      const completed = await ensureEmbeddedSecrets(settings.home, env);
      env = completed.env;
      secretsFile = completed.file;
      generatedSecrets = completed.generated;
      if (generatedSecrets.length > 0) {
        log.warn(
          { file: completed.file, generated: generatedSecrets },
          'generated secrets for the embedded database (values not shown; keep the file private and backed up)',
        );
      }
      secrets = readSecrets(env);
    }
    const daemon = await startDaemon({ settings, secrets: secrets!, databaseUrl, embedder, env }).catch(
      (thrown: unknown) => {
        throw asStartError(thrown);
      },
    );
    return { daemon, settings, embedded, secretsFile, generatedSecrets, apiToken: secrets!.apiToken };
  } catch (thrown) {
    await embedder?.close();
    throw thrown;
  }
}

function asStartError(thrown: unknown): unknown {
  if (thrown instanceof ConfigError || thrown instanceof DatabaseUnavailableError) return thrown;
  const code = (thrown as { code?: string }).code;
  // pg's connection errors before mapping (e.g. from the listener's first connect).
  if (code && /^(ECONN|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|ENOENT|08|57P|28)/.test(code)) {
    return new DatabaseUnavailableError(
      'database_unavailable',
      `the database is unavailable at start (${code})`,
      code,
      thrown,
    );
  }
  return thrown;
}

/** Maps a start failure to the documented exit code. */
export function exitCodeFor(thrown: unknown): number {
  if (thrown instanceof ConfigError) return EXIT.config;
  if (thrown instanceof DatabaseUnavailableError) return EXIT.databaseUnavailable;
  return EXIT.fatal;
}
