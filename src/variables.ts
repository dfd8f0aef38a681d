/**
 * Every environment variable memvault reads, with the doc that explains it. The daemon warns about
 * variables under its prefixes that are not here (a misspelt name would otherwise be ignored
 * silently and the default used), and a test keeps this list, the code and the docs in
 * step: a name the code reads must be here, and each entry must appear in its doc.
 */
export const VARIABLE_PREFIXES = ['MEMVAULT_', 'MEMORY_', 'RERANK_'] as const;

export const KNOWN_VARIABLES: Readonly<Record<string, string>> = {
  // Daemon and embedded cluster
  MEMVAULT_HOME: 'docs/OPERATIONS.md',
  MEMVAULT_PG_PORT: 'docs/OPERATIONS.md',
  // The embedded cluster's role passwords: in MEMVAULT_HOME/secrets.env (read there, generated once)
  MEMVAULT_PG_SUPERUSER_PASSWORD: 'docs/OPERATIONS.md',
  MEMVAULT_PG_APP_PASSWORD: 'docs/OPERATIONS.md',
  MEMVAULT_PG_MAINTAINER_PASSWORD: 'docs/OPERATIONS.md',
  // The Citus test formation's secrets.env (src/bench/citus.ts): memory_owner's password on its nodes
  MEMVAULT_PG_CITUS_OWNER_PASSWORD: 'docs/DEPLOYMENT.md',
  MEMVAULT_HOST: 'docs/OPERATIONS.md',
  MEMVAULT_PORT: 'docs/OPERATIONS.md',
  MEMVAULT_API_TOKEN: 'docs/OPERATIONS.md',
  // `memvault mcp`: the daemon it talks to
  MEMVAULT_URL: 'README.md',
  MEMVAULT_DB_POOL_MAX: 'docs/OPERATIONS.md',
  MEMVAULT_DB_CONNECT_TIMEOUT_MS: 'docs/OPERATIONS.md',
  MEMVAULT_DB_STATEMENT_TIMEOUT_MS: 'docs/OPERATIONS.md',
  MEMVAULT_LISTEN_URL: 'docs/OPERATIONS.md',
  MEMVAULT_READ_URL: 'docs/OPERATIONS.md',
  MEMVAULT_READ_MAX_LAG_MS: 'docs/OPERATIONS.md',
  MEMVAULT_READ_WAIT_MS: 'docs/OPERATIONS.md',
  MEMVAULT_MAX_BODY_BYTES: 'docs/OPERATIONS.md',
  MEMVAULT_MAX_BODY_BYTES_IN_FLIGHT: 'docs/OPERATIONS.md',
  MEMVAULT_MAX_IN_FLIGHT: 'docs/OPERATIONS.md',
  MEMVAULT_REQUEST_TIMEOUT_MS: 'docs/OPERATIONS.md',
  MEMVAULT_SHUTDOWN_TIMEOUT_MS: 'docs/OPERATIONS.md',
  MEMVAULT_LOG_LEVEL: 'docs/OPERATIONS.md',
  MEMVAULT_EMBEDDING_DIM: 'docs/OPERATIONS.md',
  MEMVAULT_EMBED_MODEL: 'docs/OPERATIONS.md',
  MEMVAULT_EMBED_DEVICE: 'docs/OPERATIONS.md',
  MEMVAULT_EMBED_POOL_SIZE: 'docs/OPERATIONS.md',
  MEMVAULT_EMBED_THREADS: 'docs/OPERATIONS.md',
  MEMVAULT_EMBED_QUERY_CACHE: 'docs/OPERATIONS.md',
  MEMVAULT_MODEL_CACHE: 'docs/RERANK.md',
  MEMVAULT_HF_ENDPOINT: 'docs/RERANK.md',
  // Keys
  MEMORY_ENCRYPTION_KEY: 'docs/CRYPTO.md',
  MEMORY_ENCRYPTION_KEY_ID: 'docs/CRYPTO.md',
  MEMORY_ENCRYPTION_KEYS: 'docs/CRYPTO.md',
  MEMORY_ENCRYPTION_ACTIVE_KEY_ID: 'docs/CRYPTO.md',
  MEMORY_TENANT_HMAC_KEY: 'docs/CRYPTO.md',
  MEMORY_TENANT_HMAC_KEY_OLD: 'docs/KEYS.md',
  MEMVAULT_DEK_CACHE_TENANTS: 'docs/KEYS.md',
  MEMVAULT_DEK_CACHE_TTL_MS: 'docs/KEYS.md',
  MEMVAULT_MAINTENANCE_URL: 'docs/KEYS.md',
  // Reranker
  RERANK_MODEL: 'docs/RERANK.md',
  RERANK_ENABLED: 'docs/RERANK.md',
  RERANK_DEVICE: 'docs/RERANK.md',
  RERANK_QUANTIZED: 'docs/RERANK.md',
  RERANK_CIRCUIT_MS: 'docs/RERANK.md',
  RERANK_ROLLOUT_PERCENT: 'docs/RERANK.md',
  RERANK_BREAKER_FAILURES: 'docs/RERANK.md',
  RERANK_BREAKER_COOLDOWN_MS: 'docs/RERANK.md',
  RERANK_POOL_SIZE: 'docs/RERANK.md',
  RERANK_THREADS: 'docs/RERANK.md',
  RERANK_BATCH_SIZE: 'docs/RERANK.md',
  RERANK_BATCH_WAIT_MS: 'docs/RERANK.md',
  RERANK_QUEUE_MAX: 'docs/RERANK.md',
  RERANK_MAX_TOKENS: 'docs/RERANK.md',
  RERANK_MAX_CANDIDATES: 'docs/RERANK.md',
  // Development, tests and benchmarks
  MEMVAULT_TEST_HOME: 'docs/OPERATIONS.md',
  MEMVAULT_TEST_VIA: 'docs/OPERATIONS.md',
  MEMVAULT_FUZZ_SCALE: 'docs/BENCHMARKS.md',
  MEMVAULT_BENCH_HOME: 'docs/BENCHMARKS.md',
};

export interface UnknownVariable {
  name: string;
  /** The known name closest to it, when it is close enough to be a likely typo. */
  suggestion?: string;
}

/** Variables under memvault's prefixes that memvault does not read. Values are never looked at. */
export function unknownVariables(env: Readonly<Record<string, string | undefined>>): UnknownVariable[] {
  return Object.keys(env)
    .filter((name) => VARIABLE_PREFIXES.some((prefix) => name.startsWith(prefix)))
    .filter((name) => !(name in KNOWN_VARIABLES))
    .sort()
    .map((name) => {
      const suggestion = closestKnown(name);
      return suggestion ? { name, suggestion } : { name };
    });
}

function closestKnown(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const known of Object.keys(KNOWN_VARIABLES)) {
    const distance = editDistance(name, known);
    if (!best || distance < best.distance) best = { name: known, distance };
  }
  // A few edits at most: a swapped or dropped letter is a likely typo, an unrelated name is not.
  return best && best.distance <= Math.max(2, Math.floor(name.length / 8)) ? best.name : undefined;
}

/** Damerau-Levenshtein (optimal string alignment): a swap of neighbours counts as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => {
    const row = new Array<number>(b.length + 1).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = value;
    }
  }
  return d[a.length]![b.length]!;
}
