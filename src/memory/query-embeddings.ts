/**
 * Recently embedded query texts, per tenant: an assistant often asks the same memory question more
 * than once (a retry, the same prompt in a loop, several turns about one subject), and the
 * embedder is the largest fixed cost of a query (docs/BENCHMARKS.md, "search"). A hit skips it.
 *
 * Keys are SHA-256 digests of (tenant hash, text), so the cache holds no query text, and a tenant
 * only ever hits its own entries: with one cache shared by all tenants, a fast answer would tell a
 * tenant that someone else had just asked the same text. Values are the embedder's own arrays,
 * not copies: the query path only reads them (the search vector is derived from them per query,
 * src/crypto/search-vector.ts).
 */
import { createHash } from 'node:crypto';

import { LRUCache } from 'lru-cache';
import { Counter } from 'prom-client';

import { registry } from '../metrics.js';

const lookups = new Counter({
  name: 'memvault_query_embedding_cache_total',
  help: 'query embeddings looked up in the per-tenant cache, by result (hit: the embedder was not run)',
  labelNames: ['result'],
  registers: [registry],
});

export class QueryEmbeddingCache {
  private readonly entries: LRUCache<string, Float32Array>;

  /** `maxEntries`: how many embeddings it keeps (each dimension x 4 bytes), least recently used out first. */
  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
    this.entries = new LRUCache({ max: maxEntries });
  }

  /** The tenant's cached embedding of `text`, else `embed()`'s, remembered. A failed embed is not cached. */
  async embedding(userHash: string, text: string, embed: () => Promise<Float32Array>): Promise<Float32Array> {
    const key = createHash('sha256').update(userHash).update('\0').update(text, 'utf8').digest('base64');
    const cached = this.entries.get(key);
    if (cached) {
      lookups.inc({ result: 'hit' });
      return cached;
    }
    lookups.inc({ result: 'miss' });
    const fresh = await embed();
    this.entries.set(key, fresh);
    return fresh;
  }

  get size(): number {
    return this.entries.size;
  }
}
