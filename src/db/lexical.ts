/**
 * Typed wrappers of the lexical index's maintenance procedures (maintenance mode, memory_maintainer):
 * `memvault reindex lexical` claims and stores, doctor counts. The tenant-scoped ones (index_chunks'
 * lexical arrays, search_lexical) live in procedures.ts with the other tenant procedures.
 */
import { bigintArray, call, type Queryable } from './procedures.js';

export interface LexicalReindexRow {
  userHash: string;
  id: string;
  /** Bound into a version-3 blob's AAD, so the job needs them to open it. */
  docId: string;
  source: string;
  textCipher: Buffer;
  keyId: number;
}

export interface LexicalCursor {
  userHash: string;
  id: string;
}

/** Chunks whose index row is missing or stale, locked SKIP LOCKED, after the cursor. */
export async function claimLexicalReindex(
  db: Queryable,
  limit: number,
  analyzerVersion: number,
  tenant: string | null,
  after: LexicalCursor | null,
): Promise<LexicalReindexRow[]> {
  const rows = await call<{
    user_hash: string;
    id: string;
    doc_id: string;
    source: string;
    text_cipher: Buffer;
    key_id: number;
  }>(
    db,
    'select * from memory.claim_lexical_reindex($1::integer, $2::smallint, $3::text, $4::text, $5::uuid)',
    [
      limit,
      analyzerVersion,
      tenant,
      after?.userHash ?? '',
      after?.id ?? '00000000-0000-0000-0000-000000000000',
    ],
  );
  return rows.map((r) => ({
    userHash: r.user_hash,
    id: r.id,
    docId: r.doc_id,
    source: r.source,
    textCipher: r.text_cipher,
    keyId: r.key_id,
  }));
}

/** One chunk's new index: its tenant and term key, and its slice of the batch's postings. */
export interface LexicalEntry {
  userHash: string;
  id: string;
  termKeyId: number;
  length: number;
  /** Its distinct tokens and their frequencies. */
  tokens: bigint[];
  tfs: number[];
}

/** Replaces the index rows of these chunks (skipping chunks deleted meanwhile); returns how many. */
export async function storeLexical(
  db: Queryable,
  entries: LexicalEntry[],
  analyzerVersion: number,
): Promise<number> {
  const chunks: number[] = [];
  const tokens: bigint[] = [];
  const tfs: number[] = [];
  entries.forEach((entry, i) => {
    entry.tokens.forEach((token, j) => {
      chunks.push(i + 1);
      tokens.push(token);
      tfs.push(entry.tfs[j]!);
    });
  });
  const rows = await call<{ n: number }>(
    db,
    'select memory.store_lexical($1::text[], $2::uuid[], $3::integer[], $4::integer[], $5::integer[], $6::bigint[], $7::integer[], $8::smallint) as n',
    [
      entries.map((e) => e.userHash),
      entries.map((e) => e.id),
      entries.map((e) => e.termKeyId),
      entries.map((e) => e.length),
      chunks,
      bigintArray(tokens),
      tfs,
      analyzerVersion,
    ],
  );
  return rows[0]!.n;
}

export interface LexicalCoverage {
  chunks: number;
  /** Indexed under the current analyzer and the tenant's active data key. */
  current: number;
  /** Not indexed at all (written before the index existed, or by an old daemon). */
  missing: number;
  /** Indexed under another analyzer version or a replaced data key. */
  stale: number;
}

export async function lexicalCoverage(db: Queryable, analyzerVersion: number): Promise<LexicalCoverage> {
  const rows = await call<{ chunks: string; current: string; missing: string; stale: string }>(
    db,
    'select * from memory.lexical_coverage($1::smallint)',
    [analyzerVersion],
  );
  const r = rows[0]!;
  return {
    chunks: Number(r.chunks),
    current: Number(r.current),
    missing: Number(r.missing),
    stale: Number(r.stale),
  };
}
