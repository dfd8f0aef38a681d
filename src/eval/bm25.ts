/**
 * BM25 over an in-memory inverted index. Parameters k1 = 0.9, b = 0.4 (Anserini's defaults, used
 * by BEIR's published BM25 figures), Lucene's idf log(1 + (N - n + 0.5) / (n + 0.5)), lowercase
 * alphanumeric tokens, no stemming or stop words. A first stage for the eval harness only.
 */
export const tokenizeForBm25 = (text: string): string[] => text.toLowerCase().match(/[a-z0-9]+/g) ?? [];

export class Bm25Index {
  private readonly postings = new Map<string, { doc: number; tf: number }[]>();
  private readonly lengths: Float64Array;
  private readonly avgLength: number;

  constructor(
    docs: string[],
    private readonly k1 = 0.9,
    private readonly b = 0.4,
  ) {
    this.lengths = new Float64Array(docs.length);
    docs.forEach((text, doc) => {
      const counts = new Map<string, number>();
      for (const token of tokenizeForBm25(text)) counts.set(token, (counts.get(token) ?? 0) + 1);
      let length = 0;
      for (const [token, tf] of counts) {
        length += tf;
        let list = this.postings.get(token);
        if (!list) this.postings.set(token, (list = []));
        list.push({ doc, tf });
      }
      this.lengths[doc] = length;
    });
    this.avgLength = this.lengths.reduce((a, b) => a + b, 0) / Math.max(1, docs.length);
  }

  /** Indices of the top-k documents (score > 0), best first. */
  search(query: string, k: number): number[] {
    const n = this.lengths.length;
    const scores = new Map<number, number>();
    for (const token of new Set(tokenizeForBm25(query))) {
      const list = this.postings.get(token);
      if (!list) continue;
      const idf = Math.log(1 + (n - list.length + 0.5) / (list.length + 0.5));
      for (const { doc, tf } of list) {
        const norm = tf + this.k1 * (1 - this.b + (this.b * this.lengths[doc]!) / this.avgLength);
        scores.set(doc, (scores.get(doc) ?? 0) + (idf * tf * (this.k1 + 1)) / norm);
      }
    }
    return [...scores.entries()]
      .sort((x, y) => y[1] - x[1] || x[0] - y[0])
      .slice(0, k)
      .map(([doc]) => doc);
  }
}
