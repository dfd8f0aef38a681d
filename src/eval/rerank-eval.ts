/**
 * `memvault eval rerank`: BM25 top-N (or the candidates of a run file), then the same candidates
 * reordered by a cross-encoder (and, optionally, by a bi-encoder's cosine), scored with nDCG@10 /
 * MRR@10. Scoring goes through the serving pool with no latency budget: quality, not latency, is
 * measured here.
 */
import path from 'node:path';

import { createEmbedder } from '../embed/index.js';
import { readRerankConfig } from '../rerank/config.js';
import { CrossEncoder } from '../rerank/cross-encoder.js';
import { loadBeir } from './beir.js';
import { Bm25Index } from './bm25.js';
import { mean, mrrAt, ndcgAt, recallAt } from './metrics.js';
import { loadRunFile } from './run-file.js';

export interface EvalOptions {
  dataset: string;
  model?: string;
  biEncoder?: string;
  /** Per-query cut of the first stage; default 100 for BM25, the whole list for a run. */
  candidates?: number;
  /** A TREC run or BEIR results JSON (src/eval/run-file.ts) to use instead of BM25. */
  run?: string;
  queries?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface EvalRow {
  system: string;
  ndcg10: number;
  mrr10: number;
  recall: number;
  seconds: number;
}

export interface EvalReport {
  dataset: string;
  queries: number;
  docs: number;
  /** 'BM25', or the path of the run file the candidates came from. */
  firstStage: string;
  /** The cut (the Recall@ depth): --candidates, else 100 for BM25 or the run's longest list. */
  candidates: number;
  /** Evaluated queries with an empty candidate list (absent from the run); they score 0. */
  queriesWithoutCandidates: number;
  rows: EvalRow[];
}

export async function evalRerank(options: EvalOptions): Promise<EvalReport> {
  const data = await loadBeir(options.dataset);
  const queries = options.queries ? data.queries.slice(0, options.queries) : data.queries;
  let started = performance.now();
  let k: number;
  let firstStage: number[][];
  if (options.run) {
    const docIndex = new Map(data.docs.map((d, i) => [d.id, i]));
    const run = await loadRunFile(options.run, { queryIds: data.queryIds, docIds: new Set(docIndex.keys()) });
    const lists = queries.map((q) => (run.get(q.id) ?? []).map((doc) => docIndex.get(doc)!));
    k = options.candidates ?? Math.max(0, ...lists.map((l) => l.length));
    firstStage = lists.map((l) => l.slice(0, k));
  } else {
    k = options.candidates ?? 100;
    const index = new Bm25Index(data.docs.map((d) => d.text));
    firstStage = queries.map((q) => index.search(q.text, k));
  }
  const firstStageName = options.run ? `run ${path.basename(options.run)}` : 'BM25';
  const rows: EvalRow[] = [];
  const score = (system: string, rankings: number[][], seconds: number): void => {
    const rel = (i: number) => data.qrels.get(queries[i]!.id) ?? new Map<string, number>();
    const ids = rankings.map((r) => r.map((doc) => data.docs[doc]!.id));
    rows.push({
      system,
      ndcg10: mean(ids.map((r, i) => ndcgAt(r, rel(i)))),
      mrr10: mean(ids.map((r, i) => mrrAt(r, rel(i)))),
      recall: mean(ids.map((r, i) => recallAt(r, rel(i), k))),
      seconds,
    });
  };
  score(firstStageName, firstStage, (performance.now() - started) / 1000);

  if (options.model) {
    started = performance.now();
    const encoder = new CrossEncoder({
      ...readRerankConfig({ ...process.env, RERANK_MODEL: options.model }),
      queueMax: 1_000_000,
    });
    try {
      await encoder.load();
      const reranked: number[][] = [];
      for (const [i, candidates] of firstStage.entries()) {
        const logits = await encoder.score(
          candidates.map((doc) => ({ query: queries[i]!.text, passage: data.docs[doc]!.text })),
        );
        reranked.push(
          candidates
            .map((doc, j) => ({ doc, s: logits[j]! }))
            .sort((a, b) => b.s - a.s)
            .map((x) => x.doc),
        );
        options.onProgress?.(i + 1, firstStage.length);
      }
      score(
        `${firstStageName} top-${k} + cross-encoder (${options.model})`,
        reranked,
        (performance.now() - started) / 1000,
      );
    } finally {
      await encoder.close();
    }
  }

  if (options.biEncoder) {
    started = performance.now();
    const embedder = await createEmbedder(options.biEncoder);
    try {
      const needed = [...new Set(firstStage.flat())];
      const vectors = new Map<number, Float32Array>();
      for (let s = 0; s < needed.length; s += 256) {
        const slice = needed.slice(s, s + 256);
        (await embedder.embed(slice.map((doc) => data.docs[doc]!.text))).forEach((v, j) =>
          vectors.set(slice[j]!, v),
        );
      }
      const queryVectors = await embedder.embed(queries.map((q) => q.text));
      const dot = (a: Float32Array, b: Float32Array): number => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
      const reranked = firstStage.map((candidates, i) =>
        candidates
          .map((doc) => ({ doc, s: dot(queryVectors[i]!, vectors.get(doc)!) }))
          .sort((a, b) => b.s - a.s)
          .map((x) => x.doc),
      );
      score(
        `${firstStageName} top-${k} + bi-encoder cosine (${options.biEncoder})`,
        reranked,
        (performance.now() - started) / 1000,
      );
    } finally {
      await embedder.close();
    }
  }
  return {
    dataset: options.dataset,
    queries: queries.length,
    docs: data.docs.length,
    firstStage: options.run ?? 'BM25',
    candidates: k,
    queriesWithoutCandidates: firstStage.filter((l) => l.length === 0).length,
    rows,
  };
}

export function formatEvalReport(report: EvalReport): string {
  const lines = [
    `dataset=${report.dataset} queries=${report.queries} docs=${report.docs} first-stage=${report.firstStage} candidates=${report.candidates}`,
    `${'system'.padEnd(70)} nDCG@10  MRR@10  Recall@${report.candidates}  seconds`,
  ];
  if (report.queriesWithoutCandidates > 0) {
    const where = report.firstStage === 'BM25' ? 'BM25 matched no document' : 'absent from the run';
    lines.splice(
      1,
      0,
      `${report.queriesWithoutCandidates} of ${report.queries} queries have no candidates (${where}) and score 0 in every row`,
    );
  }
  for (const row of report.rows) {
    lines.push(
      `${row.system.slice(0, 70).padEnd(70)} ${row.ndcg10.toFixed(4)}   ${row.mrr10.toFixed(4)}  ${row.recall.toFixed(4)}      ${row.seconds.toFixed(1)}`,
    );
  }
  return lines.join('\n');
}
