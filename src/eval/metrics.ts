/** Ranking metrics as trec_eval computes them (linear gain nDCG, ndcg_cut.10; MRR@10 on gain > 0). */
export function ndcgAt(ranked: string[], relevance: Map<string, number>, k = 10): number {
  let dcg = 0;
  ranked.slice(0, k).forEach((doc, i) => {
    dcg += (relevance.get(doc) ?? 0) / Math.log2(i + 2);
  });
  const ideal = [...relevance.values()]
    .filter((g) => g > 0)
    .sort((a, b) => b - a)
    .slice(0, k);
  const idcg = ideal.reduce((sum, g, i) => sum + g / Math.log2(i + 2), 0);
  return idcg === 0 ? 0 : dcg / idcg;
}

export function mrrAt(ranked: string[], relevance: Map<string, number>, k = 10): number {
  const at = ranked.slice(0, k).findIndex((doc) => (relevance.get(doc) ?? 0) > 0);
  return at < 0 ? 0 : 1 / (at + 1);
}

export function recallAt(ranked: string[], relevance: Map<string, number>, k: number): number {
  const relevant = [...relevance.entries()].filter(([, g]) => g > 0).map(([d]) => d);
  if (relevant.length === 0) return 0;
  const top = new Set(ranked.slice(0, k));
  return relevant.filter((d) => top.has(d)).length / relevant.length;
}

export const mean = (values: number[]): number =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
