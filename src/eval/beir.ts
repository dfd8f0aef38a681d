/** Reads a BEIR-format folder: corpus.jsonl, queries.jsonl, qrels/test.tsv (header line first). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface BeirDoc {
  id: string;
  text: string;
}

export interface BeirDataset {
  docs: BeirDoc[];
  /** Only queries with at least one relevant (gain > 0) document, as BEIR evaluates. */
  queries: { id: string; text: string }[];
  /** Every query id in queries.jsonl, evaluated or not (a candidate run may list any of them). */
  queryIds: Set<string>;
  qrels: Map<string, Map<string, number>>;
}

async function jsonl(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export async function loadBeir(dir: string): Promise<BeirDataset> {
  const str = (v: unknown): string =>
    typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
  const docs = (await jsonl(path.join(dir, 'corpus.jsonl'))).map((d) => ({
    id: str(d._id),
    // Title + text, as BEIR's BM25 baselines and cross-encoder runs use.
    text: `${str(d.title)} ${str(d.text)}`.trim(),
  }));
  const qrels = new Map<string, Map<string, number>>();
  const lines = (await readFile(path.join(dir, 'qrels', 'test.tsv'), 'utf8')).split('\n').slice(1);
  for (const line of lines) {
    const [q, d, s] = line.trim().split('\t');
    if (!q || !d || s === undefined) continue;
    if (!qrels.has(q)) qrels.set(q, new Map());
    qrels.get(q)!.set(d, Number(s));
  }
  const allQueries = (await jsonl(path.join(dir, 'queries.jsonl'))).map((q) => ({
    id: str(q._id),
    text: str(q.text),
  }));
  const queries = allQueries.filter((q) => [...(qrels.get(q.id)?.values() ?? [])].some((g) => g > 0));
  return { docs, queries, queryIds: new Set(allQueries.map((q) => q.id)), qrels };
}
