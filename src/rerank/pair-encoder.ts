/**
 * Encodes (query, passage) pairs for a BERT cross-encoder: `[CLS] q [SEP] p [SEP]`, token types 0
 * for the query part and 1 for the passage part, padded to the longest pair of the batch.
 *
 * WordPiece comes from the model's own tokenizer; the pair is assembled here instead of through
 * the tokenizer's pair template so that truncation can favour the query (passage first), and the
 * query is tokenized once per batch instead of once per pair. A test checks the assembly equals
 * the tokenizer's own pair encoding when nothing is truncated.
 */
import type { Tokenizer } from '../models/tokenizer.js';

export interface PairBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
  batch: number;
  sequence: number;
}

export interface Pair {
  query: string;
  passage: string;
}

export class BertPairEncoder {
  private readonly cls: number;
  private readonly sep: number;
  private readonly pad: number;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly maxTokens: number,
  ) {
    const id = (token: string): number => {
      const value = tokenizer.token_to_id(token);
      if (value === undefined) throw new Error(`tokenizer has no ${token} token; not a BERT tokenizer`);
      return value;
    };
    this.cls = id('[CLS]');
    this.sep = id('[SEP]');
    this.pad = id('[PAD]');
  }

  /** WordPiece ids without special tokens. */
  ids(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /**
   * Fits query and passage into maxTokens - 3 ids: the passage is cut first; the query is cut only
   * when it alone would take more than half of the window (so a passage is never reduced to nothing
   * by a long query).
   */
  fit(query: number[], passage: number[]): [number[], number[]] {
    const budget = this.maxTokens - 3;
    if (query.length + passage.length <= budget) return [query, passage];
    const passageKeep = Math.min(passage.length, Math.max(budget - query.length, Math.floor(budget / 2)));
    return [query.slice(0, budget - passageKeep), passage.slice(0, passageKeep)];
  }

  encode(pairs: Pair[]): PairBatch {
    const queryIds = new Map<string, number[]>();
    const rows = pairs.map(({ query, passage }) => {
      let q = queryIds.get(query);
      if (!q) queryIds.set(query, (q = this.ids(query)));
      return this.fit(q, this.ids(passage));
    });
    const sequence = Math.max(...rows.map(([q, p]) => q.length + p.length + 3));
    const size = pairs.length * sequence;
    const inputIds = new BigInt64Array(size).fill(BigInt(this.pad));
    const attentionMask = new BigInt64Array(size);
    const tokenTypeIds = new BigInt64Array(size);
    rows.forEach(([q, p], row) => {
      let at = row * sequence;
      const put = (id: number, type: number): void => {
        inputIds[at] = BigInt(id);
        attentionMask[at] = 1n;
        tokenTypeIds[at] = BigInt(type);
        at++;
      };
      put(this.cls, 0);
      for (const id of q) put(id, 0);
      put(this.sep, 0);
      for (const id of p) put(id, 1);
      put(this.sep, 1);
    });
    return { inputIds, attentionMask, tokenTypeIds, batch: pairs.length, sequence };
  }
}
