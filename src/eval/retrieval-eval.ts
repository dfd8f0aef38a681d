/**
 * `memvault eval retrieval`: retrieval quality measured through the product. A BEIR folder's
 * corpus goes through the real write path (`POST /v1/chunks/batch`, embedded server-side) into a
 * scratch tenant of a real daemon (child process), every evaluated query through the real query
 * path (`POST /v1/query`, k = 100) once per retrieval mode, interleaved with the mode order
 * rotated per query, and the rankings are scored with the collection's judgements. The repository's
 * BM25 (src/eval/bm25.ts) over the same documents is computed in the same run as the reference the
 * ratios are taken against.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';

import { BenchCluster } from '../bench/cluster.js';
import { type DaemonChild, spawnDaemon } from '../bench/daemon.js';
import type { HttpClient, HttpResponse } from '../bench/http.js';
import type { Progress } from '../bench/progress.js';
import { percentiles, rotated } from '../bench/stats.js';
import { generateKeyBase64 } from '../crypto/index.js';
import { createEmbedder } from '../embed/index.js';
import { ConfigError, ValidationError } from '../errors.js';
import { MAX_BATCH_CHUNKS, MAX_TEXT_BYTES } from '../memory/validate.js';
import { DEFAULT_RERANK_MODEL } from '../rerank/index.js';
import { type BeirDataset, type BeirDoc, loadBeir } from './beir.js';
import { Bm25Index } from './bm25.js';
import { mean, mrrAt, ndcgAt, recallAt } from './metrics.js';

export const RETRIEVAL_MODES = ['dense', 'lexical', 'hybrid'] as const;
export type RetrievalMode = (typeof RETRIEVAL_MODES)[number];

/** The depth every mode is asked for and recall is cut at (the API's largest k). */
export const RETRIEVAL_K = 100;
export const REPORT_FORMAT = 'memvault-eval-retrieval/1';

export interface RetrievalEvalOptions {
  dataset: string;
  modes: readonly RetrievalMode[];
  rerank: boolean;
  /** Only the first N evaluated queries. */
  queries?: number | undefined;
  /** The embedder the daemon loads (MEMVAULT_EMBED_MODEL, else the bundled USE-lite). */
  embedModel: string;
  /** Where DATABASE_URL, the keys and MEMVAULT_EMBED_* / RERANK_* settings are read from. */
  env: NodeJS.ProcessEnv;
  progress: Progress;
  /** Chunks per POST /v1/chunks/batch. */
  batchSize?: number;
  /** Batch requests in flight at once. */
  concurrency?: number;
  /** The command line that asked for this run, recorded in the report and under its plot. */
  command?: string;
}

export interface QueryScore {
  id: string;
  ndcg10: number;
}

export interface RetrievalRow {
  /** 'dense' | 'lexical' | 'hybrid', or 'BM25 reference'. */
  system: string;
  /** False when the server ignored the requested mode (it predates it): no figures then. */
  supported: boolean;
  ndcg10: number;
  mrr10: number;
  recall100: number;
  /** nDCG@10 over the BM25 reference's, same run. */
  ndcgVsBm25: number;
  /** Client-side wall time of POST /v1/query (null for the in-process BM25 reference). */
  latencyMs: { p50: number; p95: number } | null;
  /** p95 latency over the dense mode's, same run, queries interleaved (null without both). */
  p95VsDense: number | null;
  perQuery: QueryScore[];
}

export interface RetrievalReport {
  format: typeof REPORT_FORMAT;
  dataset: string;
  command?: string;
  startedAt: string;
  /** 'embedded' (a private scratch cluster) or 'DATABASE_URL'. */
  database: 'embedded' | 'DATABASE_URL';
  embedModel: string;
  rerank: boolean;
  k: number;
  docs: number;
  /** Documents with no text to index (title and text empty): never retrievable, still judged. */
  docsSkipped: number;
  /** Documents cut to the write path's MAX_TEXT_BYTES. */
  docsTruncated: number;
  queries: number;
  ingest: { seconds: number; chunksPerS: number };
  rows: RetrievalRow[];
}

/** Runs the whole evaluation; the daemon and any scratch database are gone when it returns. */
export async function evalRetrieval(options: RetrievalEvalOptions): Promise<RetrievalReport> {
  const startedAt = new Date().toISOString();
  const { progress, env } = options;
  const data = await loadBeir(options.dataset);
  const queries = options.queries ? data.queries.slice(0, options.queries) : data.queries;
  if (queries.length === 0)
    throw new ValidationError('--dataset', 'has no query with a relevant document in qrels/test.tsv');
  const { chunks, skipped, truncated } = chunksOf(data.docs);
  progress.stage(
    `${path.basename(path.resolve(options.dataset))}: ${data.docs.length.toLocaleString('en-US')} docs, ${queries.length} evaluated queries`,
  );

  let target: Target | undefined;
  let daemon: DaemonChild | undefined;
  let forgotten = false;
  const userId = `eval-retrieval-${randomBytes(6).toString('hex')}`;
  // Everything this run started goes away however it ends, Ctrl-C included: the scratch tenant on
  // someone else's database, the daemon child, the private cluster and its files.
  let released: Promise<void> | undefined;
  const release = (): Promise<void> =>
    (released ??= (async () => {
      if (target?.external && daemon && !forgotten) {
        await daemon.client
          .request('DELETE', `/v1/users/${encodeURIComponent(userId)}`)
          .catch(() => undefined);
      }
      await daemon?.stop();
      await target?.close();
    })());
  const onSignal = (signal: NodeJS.Signals): void => {
    progress.stage(`${signal}: stopping the daemon and removing what this run wrote`);
    void release().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    target = await openTarget(options);
    progress.stage(
      `starting the daemon (embedder ${options.embedModel}, rerank ${options.rerank ? 'on' : 'off'})`,
    );
    daemon = await spawnDaemon({
      databaseUrl: target.databaseUrl,
      rerankModel: options.rerank ? env.RERANK_MODEL || DEFAULT_RERANK_MODEL : undefined,
      env: daemonEnv(options),
      keys: target.keys,
      readyTimeoutMs: 120_000,
    });
    progress.stage(`daemon ready at ${daemon.url}`);
    const ingest = await ingestCorpus(daemon.client, userId, chunks, options);

    const rankings = await runQueries(daemon.client, userId, queries, options);
    progress.stage('BM25 reference over the same documents (in-process)');
    const bm25 = new Bm25Index(data.docs.map((d) => d.text));
    const bm25Ranked = queries.map((q) => bm25.search(q.text, RETRIEVAL_K).map((i) => data.docs[i]!.id));
    const reference = scoreRow('BM25 reference', bm25Ranked, queries, data, null);
    const rows: RetrievalRow[] = options.modes.map((mode) => {
      const r = rankings.get(mode)!;
      return r.supported
        ? scoreRow(mode, r.ranked, queries, data, latency(r.ms), reference.ndcg10)
        : unsupportedRow(mode);
    });
    const dense = rows.find((r) => r.system === 'dense' && r.latencyMs);
    for (const row of rows) {
      if (dense && row.latencyMs) row.p95VsDense = row.latencyMs.p95 / dense.latencyMs!.p95;
    }
    if (target.external) {
      expectStatus(
        await daemon.client.request('DELETE', `/v1/users/${encodeURIComponent(userId)}`),
        200,
        'DELETE /v1/users/:user_id (the scratch tenant)',
      );
      forgotten = true;
    }
    return {
      format: REPORT_FORMAT,
      dataset: options.dataset,
      ...(options.command ? { command: options.command } : {}),
      startedAt,
      database: target.external ? 'DATABASE_URL' : 'embedded',
      embedModel: options.embedModel,
      rerank: options.rerank,
      k: RETRIEVAL_K,
      docs: data.docs.length,
      docsSkipped: skipped,
      docsTruncated: truncated,
      queries: queries.length,
      ingest,
      rows: [...rows, reference],
    };
  } catch (thrown) {
    if (daemon && !(thrown instanceof ConfigError)) {
      const tail = daemon.output().trim().split('\n').slice(-5).join('\n');
      if (tail) progress.stage(`daemon output before the failure:\n${tail}`);
    }
    throw thrown;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await release();
  }
}

interface Chunk {
  docId: string;
  text: string;
}

/** One chunk per document (title + text), cut to the write path's limit; empty ones skipped. */
export function chunksOf(docs: readonly BeirDoc[]): { chunks: Chunk[]; skipped: number; truncated: number } {
  let skipped = 0;
  let truncated = 0;
  const chunks: Chunk[] = [];
  for (const doc of docs) {
    if (doc.text.trim() === '') {
      skipped++;
      continue;
    }
    let text = doc.text;
    if (Buffer.byteLength(text, 'utf8') > MAX_TEXT_BYTES) {
      truncated++;
      text = Buffer.from(text, 'utf8').subarray(0, MAX_TEXT_BYTES).toString('utf8');
      // A multi-byte character cut in half decodes to U+FFFD (3 bytes): drop it, and any others,
      // until the text fits again.
      while (Buffer.byteLength(text, 'utf8') > MAX_TEXT_BYTES || text.endsWith('\uFFFD')) {
        text = text.slice(0, -1);
      }
    }
    chunks.push({ docId: doc.id, text });
  }
  return { chunks, skipped, truncated };
}

interface Target {
  databaseUrl: string;
  keys: { MEMORY_ENCRYPTION_KEY: string; MEMORY_TENANT_HMAC_KEY: string };
  /** DATABASE_URL: someone else's database, so the scratch tenant is forgotten at the end. */
  external: boolean;
  close(): Promise<void>;
}

/** DATABASE_URL with the environment's keys, else a fresh database on a private embedded cluster. */
async function openTarget(options: RetrievalEvalOptions): Promise<Target> {
  const { env } = options;
  if (env.DATABASE_URL) {
    for (const name of ['MEMORY_ENCRYPTION_KEY', 'MEMORY_TENANT_HMAC_KEY'] as const) {
      if (!env[name])
        throw new ConfigError(name, 'must be set when DATABASE_URL is (the daemon seals with it)');
    }
    return {
      databaseUrl: env.DATABASE_URL,
      keys: {
        MEMORY_ENCRYPTION_KEY: env.MEMORY_ENCRYPTION_KEY!,
        MEMORY_TENANT_HMAC_KEY: env.MEMORY_TENANT_HMAC_KEY!,
      },
      external: true,
      close: async () => undefined,
    };
  }
  options.progress.stage('starting a private PostgreSQL cluster');
  // The schema must fit the embedder's vectors, known only by loading it once.
  const probe = await createEmbedder(options.embedModel, { device: 'cpu', poolSize: 1, threads: 1 });
  const dim = probe.dimension;
  await probe.close();
  const cluster = await BenchCluster.start();
  options.progress.stage(`private cluster in ${cluster.home}`);
  try {
    const db = await cluster.createDatabase('retrieval', dim);
    return {
      databaseUrl: db.appUrl,
      keys: { MEMORY_ENCRYPTION_KEY: generateKeyBase64(), MEMORY_TENANT_HMAC_KEY: generateKeyBase64() },
      external: false,
      close: async () => {
        await db.drop();
        await cluster.stop();
      },
    };
  } catch (thrown) {
    await cluster.stop();
    throw thrown;
  }
}

/** The daemon's embedder and reranker settings, passed through from this command's environment. */
function daemonEnv(options: RetrievalEvalOptions): Record<string, string> {
  const passed = Object.entries(options.env).filter(
    (entry): entry is [string, string] =>
      entry[1] !== undefined && /^(MEMVAULT_EMBED_|RERANK_)/.test(entry[0]),
  );
  return { ...Object.fromEntries(passed), MEMVAULT_EMBED_MODEL: options.embedModel };
}

async function ingestCorpus(
  client: HttpClient,
  userId: string,
  chunks: readonly Chunk[],
  options: RetrievalEvalOptions,
): Promise<{ seconds: number; chunksPerS: number }> {
  const size = Math.min(options.batchSize ?? 256, MAX_BATCH_CHUNKS);
  const batches: Chunk[][] = [];
  for (let i = 0; i < chunks.length; i += size) batches.push(chunks.slice(i, i + size));
  options.progress.stage(
    `writing ${chunks.length.toLocaleString('en-US')} chunks through POST /v1/chunks/batch (${batches.length} batches of ${size})`,
  );
  const started = performance.now();
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      const res = await client.request(
        'POST',
        '/v1/chunks/batch',
        { user_id: userId, chunks: batch.map((c) => ({ doc_id: c.docId, source: 'eval', text: c.text })) },
        // Server-side embedding of 256 abstracts on a busy CPU takes a while.
        { timeoutMs: 600_000 },
      );
      expectStatus(res, 201, 'POST /v1/chunks/batch');
      done += batch.length;
      options.progress.tick(done, chunks.length, 'chunks written');
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { seconds, chunksPerS: chunks.length / seconds };
}

interface ModeRun {
  supported: boolean;
  ranked: string[][];
  ms: number[];
}

async function runQueries(
  client: HttpClient,
  userId: string,
  queries: BeirDataset['queries'],
  options: RetrievalEvalOptions,
): Promise<Map<RetrievalMode, ModeRun>> {
  const runs = new Map<RetrievalMode, ModeRun>();
  const ask = (mode: RetrievalMode, query: string) =>
    client.request(
      'POST',
      '/v1/query',
      { user_id: userId, query, k: RETRIEVAL_K, candidates: RETRIEVAL_K, rerank: options.rerank, mode },
      { timeoutMs: 120_000 },
    );
  // One untimed query per mode first: it warms the daemon (model sessions, plans, the tenant's
  // data key) and tells whether the server honours the mode at all.
  for (const mode of options.modes) {
    const res = await ask(mode, queries[0]?.text ?? 'warm up');
    expectStatus(res, 200, `POST /v1/query (mode ${mode})`);
    const supported = honoursMode(mode, res.body);
    if (!supported) {
      options.progress.stage(`the server ignores "mode": "${mode}" (it predates it): no ${mode} figures`);
    }
    runs.set(mode, { supported, ranked: [], ms: [] });
  }
  const active = options.modes.filter((mode) => runs.get(mode)!.supported);
  options.progress.stage(
    `${queries.length} queries x ${active.length} modes (${active.join(', ')}) through POST /v1/query, k = ${RETRIEVAL_K}`,
  );
  for (const [i, q] of queries.entries()) {
    for (const mode of rotated(active, i)) {
      const res = await ask(mode, q.text);
      expectStatus(res, 200, `POST /v1/query (mode ${mode}, query ${q.id})`);
      const run = runs.get(mode)!;
      run.ranked[i] = rankedDocIds(res.body);
      run.ms[i] = res.ms;
    }
    options.progress.tick(i + 1, queries.length, 'queries');
  }
  return runs;
}

/**
 * Whether a /v1/query response was served in the requested mode. A server that echoes `mode`
 * says so. Otherwise: a server that predates modes ignores the field and answers densely, so a
 * dense request is always served as asked, and a lexical or hybrid one only when the answer times
 * a `lexical` stage.
 */
export function honoursMode(mode: RetrievalMode, body: unknown): boolean {
  const b = (body ?? {}) as { mode?: unknown; timings_ms?: Record<string, unknown> };
  if (typeof b.mode === 'string') return b.mode === mode;
  return mode === 'dense' || typeof b.timings_ms?.lexical === 'number';
}

/** Document ids in rank order, each once (a document may have been split into several chunks). */
export function rankedDocIds(body: unknown): string[] {
  const results = (body as { results?: Array<{ doc_id?: unknown }> }).results;
  if (!Array.isArray(results)) throw new Error('POST /v1/query answered without a results array');
  return [...new Set(results.map((r) => String(r.doc_id)))];
}

function expectStatus(res: HttpResponse, status: number, what: string): void {
  if (res.status === status) return;
  const error = (res.body as { error?: { code?: string; message?: string; field?: string } })?.error;
  throw new Error(
    `${what} answered ${res.status}${error ? `: ${error.code ?? ''} ${error.message ?? ''}${error.field ? ` (field ${error.field})` : ''}` : ''}`,
  );
}

function latency(ms: number[]): { p50: number; p95: number } {
  const p = percentiles(ms);
  return { p50: p.p50, p95: p.p95 };
}

function scoreRow(
  system: string,
  ranked: string[][],
  queries: BeirDataset['queries'],
  data: BeirDataset,
  latencyMs: RetrievalRow['latencyMs'],
  /** The reference's nDCG@10; absent for the reference itself. */
  bm25Ndcg?: number,
): RetrievalRow {
  const rel = (i: number) => data.qrels.get(queries[i]!.id) ?? new Map<string, number>();
  const ndcgs = ranked.map((r, i) => ndcgAt(r, rel(i)));
  const ndcg10 = mean(ndcgs);
  return {
    system,
    supported: true,
    ndcg10,
    mrr10: mean(ranked.map((r, i) => mrrAt(r, rel(i)))),
    recall100: mean(ranked.map((r, i) => recallAt(r, rel(i), RETRIEVAL_K))),
    ndcgVsBm25: bm25Ndcg === undefined ? 1 : ndcg10 / bm25Ndcg,
    latencyMs,
    p95VsDense: null,
    perQuery: ndcgs.map((ndcg10, i) => ({ id: queries[i]!.id, ndcg10 })),
  };
}

function unsupportedRow(mode: RetrievalMode): RetrievalRow {
  return {
    system: mode,
    supported: false,
    ndcg10: Number.NaN,
    mrr10: Number.NaN,
    recall100: Number.NaN,
    ndcgVsBm25: Number.NaN,
    latencyMs: null,
    p95VsDense: null,
    perQuery: [],
  };
}

export function formatRetrievalReport(report: RetrievalReport): string {
  const lines = [
    `dataset=${report.dataset} docs=${report.docs} queries=${report.queries} k=${report.k} rerank=${report.rerank ? 'on' : 'off'} database=${report.database}`,
    `embedder=${report.embedModel}; ingest ${report.ingest.seconds.toFixed(1)} s (${report.ingest.chunksPerS.toFixed(0)} chunks/s through POST /v1/chunks/batch)`,
  ];
  if (report.docsSkipped)
    lines.push(`${report.docsSkipped} docs have no text and were not written (they score as misses)`);
  if (report.docsTruncated) lines.push(`${report.docsTruncated} docs were cut to ${MAX_TEXT_BYTES} bytes`);
  lines.push(
    `${'system'.padEnd(16)} nDCG@10  MRR@10  recall@${report.k}  vs BM25  p50 ms  p95 ms  p95 vs dense`,
  );
  const f = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');
  for (const row of report.rows) {
    if (!row.supported) {
      lines.push(`${row.system.padEnd(16)} not served: the server ignores "mode": "${row.system}"`);
      continue;
    }
    lines.push(
      [
        row.system.padEnd(16),
        f(row.ndcg10).padStart(7),
        f(row.mrr10).padStart(7),
        f(row.recall100).padStart(10),
        `${f(row.ndcgVsBm25, 2)}x`.padStart(8),
        (row.latencyMs ? f(row.latencyMs.p50, 1) : '-').padStart(7),
        (row.latencyMs ? f(row.latencyMs.p95, 1) : '-').padStart(7),
        (row.p95VsDense === null ? '-' : `${f(row.p95VsDense, 2)}x`).padStart(13),
      ].join(' '),
    );
  }
  lines.push(
    'latency: client-side wall time of POST /v1/query, one request at a time; BM25: in-process reference',
  );
  return lines.join('\n');
}
