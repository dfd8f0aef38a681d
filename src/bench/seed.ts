/**
 * Real, sealed tenant data for the HTTP suites, written through the write path itself (the
 * daemon must be able to open it), with the same keys the bench daemon gets.
 */
import { randomBytes } from 'node:crypto';

import { configureCrypto, defaultKeyRing, generateKeyBase64, loadCryptoConfig } from '../crypto/index.js';
import type { Pool } from '../db/pool.js';
import { TenantKeyStore } from '../keys/tenant-key-store.js';
import { indexChunks } from '../memory/index.js';
import type { TenantPlan } from './corpus.js';
import { samplePoint } from './corpus.js';
import type { Progress } from './progress.js';

const TOPIC_WORDS = (
  'memory retrieval encrypted tenant vector search ranking passage query assistant model latency protein immune ' +
  'response climate ocean temperature market economy policy research clinical trial patients treatment outcome'
).split(' ');

/**
 * A Zipfian vocabulary (s = 1, 5,000 words: the topic words first, then synthetic ones), so the
 * lexical index sees what natural text gives it — a few terms in most chunks, most terms in few —
 * rather than 28 words in every chunk, which would make every query term's postings the whole
 * tenant.
 */
const VOCABULARY = [
  ...TOPIC_WORDS,
  ...Array.from({ length: 5_000 - TOPIC_WORDS.length }, (_, i) => `term${i.toString(36)}`),
];
const ZIPF_CDF = (() => {
  const weights = VOCABULARY.map((_, rank) => 1 / (rank + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  let sum = 0;
  return weights.map((w) => (sum += w / total));
})();

function zipfWord(random: () => number): string {
  const u = random();
  let lo = 0;
  let hi = ZIPF_CDF.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ZIPF_CDF[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return VOCABULARY[lo]!;
}

export interface Keys {
  MEMORY_ENCRYPTION_KEY: string;
  MEMORY_TENANT_HMAC_KEY: string;
}

/** Fresh keys, configured for this process too (the bench seals what the daemon will open). */
export function benchKeys(): Keys {
  const keys = { MEMORY_ENCRYPTION_KEY: generateKeyBase64(), MEMORY_TENANT_HMAC_KEY: generateKeyBase64() };
  configureCrypto(loadCryptoConfig(keys));
  return keys;
}

/** ~60-word passages, so the reranker sees realistic pair lengths (~100 tokens with the query). */
export function passage(random: () => number): string {
  return Array.from({ length: 60 }, () => zipfWord(random)).join(' ');
}

export function randomUserId(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** Writes `size` chunks for userId in batches of up to 1000 through memory's indexChunks. */
export async function seedTenant(
  pool: Pool,
  dim: number,
  userId: string,
  shape: TenantPlan,
  size: number,
  centres: Float32Array[],
  random: () => number,
  progress?: Progress,
): Promise<void> {
  // The process's keys (benchKeys configured them), as the bench daemon has them.
  const memory = { pool, dim, keys: new TenantKeyStore(pool, defaultKeyRing) };
  for (let done = 0; done < size;) {
    const n = Math.min(1000, size - done);
    const chunks = Array.from({ length: n }, (_, i) => ({
      docId: `doc-${Math.floor((done + i) / 10)}`,
      source: 'bench',
      text: passage(random),
      metadata: { n: done + i },
      embedding: Array.from(samplePoint(shape, centres, random)),
    }));
    await indexChunks(memory, userId, chunks);
    done += n;
    progress?.tick(done, size, `seeding ${userId.slice(0, 12)}`);
  }
}
