/**
 * Bulk-loads a synthetic corpus as the superuser, the way an operator would restore a dump:
 * HNSW indexes dropped, rows inserted in large unnest() batches with triggers off, the narrow
 * search layout (memory.chunk_vectors, halfvec) filled from them, indexes rebuilt once, tables
 * analysed. The indexes are re-created from their own definitions in pg_indexes, so the suites
 * measure exactly the indexes the migrations create. Ciphertexts are fake fixed bytes of
 * realistic sizes: ANN search never opens them.
 *
 * Raw SQL here (not procedures) is deliberate: this is the baseline and setup side of a benchmark,
 * run as a superuser against a throwaway database.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { cryptoConfigured, tenantProof, tenantVerifier } from '../crypto/index.js';
import { HNSW_INDEX, VECTORS_HNSW_INDEX } from '../db/plans.js';
import type { Pool, PoolClient } from '../db/pool.js';
import { samplePoint, type TenantPlan, vectorText } from './corpus.js';
import type { Progress } from './progress.js';
import { benchKeys } from './seed.js';
import { seededRandom } from './stats.js';

const BATCH = 2_000;

/** Sizes of what the write path would store for a ~500-character chunk. */
export const FAKE_CIPHERS = { text: randomBytes(533), meta: randomBytes(80), emb: randomBytes(384 * 4 + 33) };

export interface LoadReport {
  rows: number;
  insertS: number;
  indexS: number;
}

export async function loadCorpus(
  admin: Pool,
  plans: TenantPlan[],
  centres: Float32Array[],
  progress: Progress,
  seed = 1,
): Promise<LoadReport> {
  const random = seededRandom(seed * 31 + 5);
  const { rows: defs } = await admin.query<{ indexname: string; indexdef: string }>(
    "select indexname, indexdef from pg_indexes where schemaname = 'memory' and indexname = any($1::text[])",
    [[HNSW_INDEX, VECTORS_HNSW_INDEX]],
  );
  const indexDefs = [HNSW_INDEX, VECTORS_HNSW_INDEX].map((name) => {
    const def = defs.find((d) => d.indexname === name)?.indexdef;
    if (!def) throw new Error(`index ${name} not found: was the database migrated?`);
    return { name, def };
  });
  for (const { name } of indexDefs) await admin.query(`drop index memory.${name}`);

  // Every row of the corpus, in tenant order (the order writes arrive in does not matter to HNSW
  // quality at this scale, and tenant order keeps generation simple).
  const total = plans.reduce((sum, p) => sum + p.size, 0);
  const t0 = performance.now();
  let done = 0;
  const inFlight: Promise<unknown>[] = [];
  let batch = { hashes: [] as string[], ids: [] as string[], docs: [] as string[], vectors: [] as string[] };
  const flush = async (): Promise<void> => {
    const b = batch;
    batch = { hashes: [], ids: [], docs: [], vectors: [] };
    // Two batches in flight: Node formats the next while PostgreSQL parses this one.
    if (inFlight.length >= 2) await inFlight.shift();
    inFlight.push(
      withReplicationRole(admin, (client) =>
        client.query(
          `insert into memory.memory_chunks (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id)
           select u.h, u.id, u.d, 'bench', $5::bytea, $6::bytea, $7::bytea, u.e::public.vector, 1
           from unnest($1::text[], $2::uuid[], $3::text[], $4::text[]) as u(h, id, d, e)`,
          [b.hashes, b.ids, b.docs, b.vectors, FAKE_CIPHERS.text, FAKE_CIPHERS.meta, FAKE_CIPHERS.emb],
        ),
      ).then(() => {
        done += b.ids.length;
        progress.tick(done, total, 'rows inserted');
      }),
    );
  };
  for (const plan of plans) {
    for (let i = 0; i < plan.size; i++) {
      batch.hashes.push(plan.userHash);
      batch.ids.push(randomUUID());
      batch.docs.push(`doc-${Math.floor(i / 8)}`);
      batch.vectors.push(vectorText(samplePoint(plan, centres, random)));
      if (batch.ids.length >= BATCH) await flush();
    }
  }
  if (batch.ids.length) await flush();
  await Promise.all(inFlight);
  const insertS = (performance.now() - t0) / 1000;

  // The search vectors of these rows, as the write path stores them (halfvec of the same vector).
  await withReplicationRole(admin, (client) =>
    client.query(
      `insert into memory.chunk_vectors (user_hash, id, embedding)
       select c.user_hash, c.id, c.embedding::public.halfvec from memory.memory_chunks c
       where not exists (select from memory.chunk_vectors v where v.user_hash = c.user_hash and v.id = c.id)`,
    ),
  );

  // Each tenant's proof verifier, as its first write would store it: the procedures the suites
  // call as memory_app check the tenant's proof (docs/CRYPTO.md), which this process computes.
  if (!cryptoConfigured()) benchKeys();
  const hashes = [...new Set(plans.map((p) => p.userHash))];
  await admin.query(
    `insert into memory.tenant_proofs (user_hash, verifier)
     select u.h, u.v from unnest($1::text[], $2::bytea[]) as u(h, v) on conflict (user_hash) do nothing`,
    [hashes, hashes.map((h) => tenantVerifier(tenantProof(h)!))],
  );

  progress.stage(`building the HNSW indexes over ${total.toLocaleString('en-US')} rows`);
  const t1 = performance.now();
  const client = await admin.connect();
  try {
    // Session settings on a throwaway bench connection: a faster, parallel build of the same index.
    await client.query("set maintenance_work_mem = '1GB'");
    await client.query('set max_parallel_maintenance_workers = 1');
    for (const { def } of indexDefs) await client.query(def);
    await client.query('analyze memory.memory_chunks, memory.chunk_vectors');
  } finally {
    client.release();
  }
  return { rows: total, insertS, indexS: (performance.now() - t1) / 1000 };
}

/** Triggers off for a bulk load (the chunks_indexed NOTIFY has no listener here). */
async function withReplicationRole<T>(admin: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await admin.connect();
  try {
    await client.query('begin');
    await client.query("set local session_replication_role = 'replica'");
    const out = await fn(client);
    await client.query('commit');
    return out;
  } catch (thrown) {
    await client.query('rollback').catch(() => undefined);
    throw thrown;
  } finally {
    client.release();
  }
}
