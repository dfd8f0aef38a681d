/**
 * The daemon's configuration: read from the environment once, at start, and validated there. A
 * missing or malformed value stops the daemon with a ConfigError naming the variable (never its
 * value). Two modes:
 *
 * - DATABASE_URL set (production): the key variables and MEMVAULT_API_TOKEN must be set too;
 *   nothing is generated, because a generated key on one host would make another host's data
 *   unreadable.
 * - DATABASE_URL absent (the embedded default): the private cluster under MEMVAULT_HOME is
 *   started and migrated, and keys or a token that are not in the environment are taken from
 *   MEMVAULT_HOME/secrets.env, generated into it (mode 0600) the first time.
 */
import { randomBytes } from 'node:crypto';

import { type CryptoConfig, generateKeyBase64, loadCryptoConfig } from './crypto/index.js';
import { defaultHome } from './db/cluster.js';
import { DEFAULT_EMBEDDING_DIM } from './db/migrate.js';
import { type EmbedSettings, readEmbedSettings } from './embed/settings.js';
import { type Env, envInt, envString } from './env.js';
import { ConfigError } from './errors.js';
import { readSecretsFile, secretsFile, writeSecretsFile } from './secrets-file.js';

export { type EmbedSettings, readEmbedSettings };
import { readRerankConfig } from './rerank/index.js';

export const API_TOKEN_VARIABLE = 'MEMVAULT_API_TOKEN';
const MIN_TOKEN_LENGTH = 16;

/** Everything but the secrets: safe to log whole. */
export interface DaemonSettings {
  host: string;
  port: number;
  /** Absent: the embedded cluster. */
  databaseUrl: string | undefined;
  /**
   * A direct connection for LISTEN (live settings, chunk events) when DATABASE_URL goes through a
   * pooler in transaction mode, which cannot hold a LISTEN. Absent: DATABASE_URL.
   */
  listenUrl: string | undefined;
  /** Read replicas for tenant reads (MEMVAULT_READ_URL, comma-separated); empty: all on the primary. */
  readUrls: string[];
  /** A replica further behind than this gets no reads (MEMVAULT_READ_MAX_LAG_MS). */
  readMaxLagMs: number;
  /** How long a read waits for a replica to replay the tenant's last write (MEMVAULT_READ_WAIT_MS). */
  readWaitMs: number;
  home: string;
  poolMax: number;
  dbConnectTimeoutMs: number;
  dbStatementTimeoutMs: number;
  maxBodyBytes: number;
  maxBodyBytesInFlight: number;
  maxInFlight: number;
  requestTimeoutMs: number;
  shutdownTimeoutMs: number;
  embed: EmbedSettings | undefined;
  /** Query embeddings kept per tenant and text (src/memory/query-embeddings.ts); 0 = none. */
  queryEmbeddingCache: number;
  /** Dimension for a fresh embedded schema when no embedder decides it. */
  embeddingDim: number;
  /** Unwrapped tenant data keys kept in memory: how many tenants, for how long (docs/KEYS.md). */
  dekCacheTenants: number;
  dekCacheTtlMs: number;
}

export interface Secrets {
  crypto: CryptoConfig;
  /** Non-enumerable: a Secrets object can be logged or inspected without leaking the token. */
  readonly apiToken: string;
}

export const LISTEN_URL_VARIABLE = 'MEMVAULT_LISTEN_URL';

/** MEMVAULT_READ_URL: one or more postgres:// URLs, comma-separated (the message never quotes them). */
function readUrls(env: Env): string[] {
  const raw = envString(env, 'MEMVAULT_READ_URL');
  if (!raw) return [];
  const urls = raw
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  urls.forEach((url, i) => {
    if (!/^postgres(ql)?:\/\//.test(url))
      throw new ConfigError('MEMVAULT_READ_URL', `entry ${i + 1} is not a postgres:// or postgresql:// URL`);
  });
  return urls;
}

export function readDaemonSettings(env: Env = process.env): DaemonSettings {
  const host = envString(env, 'MEMVAULT_HOST', '127.0.0.1');
  if (!/^[\w.:-]+$/.test(host)) throw new ConfigError('MEMVAULT_HOST', 'must be a host name or IP address');
  // Validated now even though the reranker reads them itself on first use: a typo must stop the
  // daemon at start, not surface as a fail-open on the first query.
  readRerankConfig(env);
  const maxBodyBytes = envInt(env, 'MEMVAULT_MAX_BODY_BYTES', 16 * 1024 * 1024, {
    min: 1024,
    max: 256 * 1024 * 1024,
  });
  // Four of the largest bodies at once by default: concurrent bodies beyond that wait (429).
  const maxBodyBytesInFlight = envInt(env, 'MEMVAULT_MAX_BODY_BYTES_IN_FLIGHT', 4 * maxBodyBytes, {
    min: 1024,
    max: 16 * 1024 * 1024 * 1024,
  });
  if (maxBodyBytesInFlight < maxBodyBytes) {
    throw new ConfigError(
      'MEMVAULT_MAX_BODY_BYTES_IN_FLIGHT',
      'must be at least MEMVAULT_MAX_BODY_BYTES (a body of the largest size must fit)',
    );
  }
  return {
    host,
    port: envInt(env, 'MEMVAULT_PORT', 7420, { min: 0, max: 65535 }),
    databaseUrl: envString(env, 'DATABASE_URL'),
    listenUrl: envString(env, LISTEN_URL_VARIABLE),
    readUrls: readUrls(env),
    readMaxLagMs: envInt(env, 'MEMVAULT_READ_MAX_LAG_MS', 1_000, { min: 0, max: 3_600_000 }),
    readWaitMs: envInt(env, 'MEMVAULT_READ_WAIT_MS', 50, { min: 0, max: 10_000 }),
    home: defaultHome(env as NodeJS.ProcessEnv),
    poolMax: envInt(env, 'MEMVAULT_DB_POOL_MAX', 10, { min: 1, max: 1000 }),
    dbConnectTimeoutMs: envInt(env, 'MEMVAULT_DB_CONNECT_TIMEOUT_MS', 2_000, { min: 100, max: 120_000 }),
    dbStatementTimeoutMs: envInt(env, 'MEMVAULT_DB_STATEMENT_TIMEOUT_MS', 15_000, {
      min: 100,
      max: 3_600_000,
    }),
    maxBodyBytes,
    maxBodyBytesInFlight,
    maxInFlight: envInt(env, 'MEMVAULT_MAX_IN_FLIGHT', 256, { min: 1, max: 100_000 }),
    requestTimeoutMs: envInt(env, 'MEMVAULT_REQUEST_TIMEOUT_MS', 30_000, { min: 1_000, max: 600_000 }),
    shutdownTimeoutMs: envInt(env, 'MEMVAULT_SHUTDOWN_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
    embed: readEmbedSettings(env),
    queryEmbeddingCache: envInt(env, 'MEMVAULT_EMBED_QUERY_CACHE', 1024, { min: 0, max: 1_000_000 }),
    embeddingDim: envInt(env, 'MEMVAULT_EMBEDDING_DIM', DEFAULT_EMBEDDING_DIM, { min: 1, max: 16000 }),
    dekCacheTenants: envInt(env, 'MEMVAULT_DEK_CACHE_TENANTS', 10_000, { min: 1, max: 10_000_000 }),
    dekCacheTtlMs: envInt(env, 'MEMVAULT_DEK_CACHE_TTL_MS', 300_000, { min: 1_000, max: 86_400_000 }),
  };
}

/**
 * The dimension a fresh embedded schema is migrated with: the one rule `memvault start` and
 * `memvault db up` share, so that a cluster created by either serves the other. The embedder's own
 * dimension when there is one (MEMVAULT_EMBED_MODEL, or the bundled model `start` defaults to),
 * since the daemon refuses a schema its vectors do not fit; otherwise MEMVAULT_EMBEDDING_DIM
 * (default 384), and clients send vectors of that size.
 */
export function embeddedSchemaDim(
  settings: Pick<DaemonSettings, 'embeddingDim'>,
  embedder: { readonly dimension: number } | undefined,
): number {
  return embedder?.dimension ?? settings.embeddingDim;
}

/** The keys and the API token from `env`; a missing or malformed one is a ConfigError naming it. */
export function readSecrets(env: Env): Secrets {
  const crypto = loadCryptoConfig(env);
  const token = envString(env, API_TOKEN_VARIABLE);
  if (token === undefined)
    throw new ConfigError(API_TOKEN_VARIABLE, 'is not set (the bearer token clients must send)');
  if (token.length < MIN_TOKEN_LENGTH)
    throw new ConfigError(API_TOKEN_VARIABLE, `must be at least ${MIN_TOKEN_LENGTH} characters`);
  if (/\s/.test(token)) throw new ConfigError(API_TOKEN_VARIABLE, 'must not contain whitespace');
  const secrets = { crypto } as Secrets;
  Object.defineProperty(secrets, 'apiToken', { value: token, enumerable: false });
  return secrets;
}

/** Each group is taken whole from the environment or whole from the file, never mixed. */
const SECRET_GROUPS: ReadonlyArray<{ variables: string[]; generate: () => [string, string] }> = [
  {
    variables: ['MEMORY_ENCRYPTION_KEY', 'MEMORY_ENCRYPTION_KEYS'],
    generate: () => ['MEMORY_ENCRYPTION_KEY', generateKeyBase64()],
  },
  { variables: ['MEMORY_TENANT_HMAC_KEY'], generate: () => ['MEMORY_TENANT_HMAC_KEY', generateKeyBase64()] },
  {
    variables: [API_TOKEN_VARIABLE],
    generate: () => [API_TOKEN_VARIABLE, randomBytes(32).toString('base64url')],
  },
];

/**
 * For the embedded default: the environment completed with MEMVAULT_HOME/secrets.env, after
 * generating whatever neither holds. Returns the names generated (never the values).
 */
export async function ensureEmbeddedSecrets(
  home: string,
  env: Env,
): Promise<{ env: Env; generated: string[]; file: string }> {
  const file = secretsFile(home);
  const stored = await readSecretsFile(file);
  const merged: Record<string, string | undefined> = { ...env };
  const generated: string[] = [];
  for (const group of SECRET_GROUPS) {
    if (group.variables.some((name) => envString(env, name) !== undefined)) continue;
    const fromFile = group.variables.filter((name) => stored[name] !== undefined);
    if (fromFile.length > 0) {
      for (const name of fromFile) merged[name] = stored[name];
      continue;
    }
    const [name, value] = group.generate();
    stored[name] = value;
    merged[name] = value;
    generated.push(name);
  }
  if (generated.length > 0) await writeSecretsFile(file, stored);
  return { env: merged, generated, file };
}

/** One value of MEMVAULT_HOME/secrets.env, if the file holds it (read only; nothing generated). */
export async function storedSecret(home: string, name: string): Promise<string | undefined> {
  return (await readSecretsFile(secretsFile(home)))[name];
}

export { secretsFile };
export { type EmbeddedDatabase, prepareEmbeddedDatabase } from './db/embedded.js';
