/**
 * From text to what the lexical index stores: terms (the analyzer) keyed into tokens (the tenant's
 * term key), counted per chunk. Nothing here leaves the daemon as text.
 */
import type { TermKey } from '../crypto/index.js';
import { type Analyzer, termFrequencies } from './analyzer.js';

/** A batch's index in the shape memory.index_chunks and memory.store_lexical take. */
export interface LexicalBatch {
  /** Per chunk: its length in terms. */
  lengths: number[];
  /** Per posting: the chunk (1-based index into the batch), its token and term frequency. */
  chunks: number[];
  tokens: bigint[];
  tfs: number[];
  termKeyId: number;
  analyzerVersion: number;
}

/** One text's keyed postings: its length in terms, its distinct tokens and their frequencies. */
export interface TextPostings {
  length: number;
  tokens: bigint[];
  tfs: number[];
}

export function textPostings(analyzer: Analyzer, termKey: TermKey, text: string): TextPostings {
  const { tf, length } = termFrequencies(analyzer, text);
  // Two terms of one text sharing a 64-bit token (a 1-in-10^19 event per pair) are merged rather
  // than stored twice, which the postings' primary key would refuse.
  const byToken = new Map<bigint, number>();
  for (const [term, count] of tf) {
    const token = termKey.token(term);
    byToken.set(token, (byToken.get(token) ?? 0) + count);
  }
  return { length, tokens: [...byToken.keys()], tfs: [...byToken.values()] };
}

export function lexicalBatch(analyzer: Analyzer, termKey: TermKey, texts: string[]): LexicalBatch {
  const batch: LexicalBatch = {
    lengths: [],
    chunks: [],
    tokens: [],
    tfs: [],
    termKeyId: termKey.dataKeyId,
    analyzerVersion: analyzer.version,
  };
  texts.forEach((text, i) => {
    const postings = textPostings(analyzer, termKey, text);
    batch.lengths.push(postings.length);
    postings.tokens.forEach((token, j) => {
      batch.chunks.push(i + 1);
      batch.tokens.push(token);
      batch.tfs.push(postings.tfs[j]!);
    });
  });
  return batch;
}

/** The distinct tokens of a query (BM25 counts each query term once). */
export function queryTokens(analyzer: Analyzer, termKey: TermKey, query: string): bigint[] {
  return [...new Set(analyzer.terms(query).map((term) => termKey.token(term)))];
}
