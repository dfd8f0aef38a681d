/**
 * Candidate lists from a file, used instead of BM25 as the first stage of `memvault eval rerank`.
 * Two formats, told apart by the first non-blank character (`{` means JSON):
 * - a TREC run, one candidate per line: `qid Q0 docid rank score tag`, whitespace-separated;
 * - BEIR's results JSON, `{ "qid": { "docid": score, ... }, ... }`.
 * Each query's list is ordered by score, highest first, as trec_eval reads a run. Ties keep the
 * run's rank order (TREC), so a run written from a ranking with tied or constant scores is read
 * back in that same order; JSON has no rank, and an object's key order is not preserved for
 * numeric ids, so its ties fall to the doc id, descending, as trec_eval breaks them.
 * Every query and doc id must exist in the dataset: a run made for another dataset (or another
 * version of it) would otherwise score silently as misses.
 */
import { readFile } from 'node:fs/promises';

import { ValidationError } from '../errors.js';

export interface RunIds {
  /** Every query id in queries.jsonl, whether or not it is evaluated. */
  queryIds: ReadonlySet<string>;
  docIds: ReadonlySet<string>;
}

/** Query id -> doc ids, best first. */
export type CandidateRun = Map<string, string[]>;

interface Entry {
  doc: string;
  score: number;
  rank: number;
}

const FIELD = '--run';
const TREC_FIELDS = ['qid', 'Q0', 'docid', 'rank', 'score', 'tag'] as const;

/** Quotes a value for an error message, shortened: a run line can be arbitrarily long. */
const quote = (value: string): string =>
  JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);

export async function loadRunFile(file: string, ids: RunIds): Promise<CandidateRun> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ValidationError(
      FIELD,
      `cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parseRun(text, file, ids);
}

export function parseRun(text: string, source: string, ids: RunIds): CandidateRun {
  const entries = text.trimStart().startsWith('{')
    ? parseJson(text, source, ids)
    : parseTrec(text, source, ids);
  const run: CandidateRun = new Map();
  for (const [qid, list] of entries) {
    list.sort((a, b) => b.score - a.score || a.rank - b.rank || (a.doc < b.doc ? 1 : a.doc > b.doc ? -1 : 0));
    run.set(
      qid,
      list.map((e) => e.doc),
    );
  }
  if (run.size === 0) throw new ValidationError(FIELD, `${source} holds no candidates`);
  return run;
}

function parseTrec(text: string, source: string, ids: RunIds): Map<string, Entry[]> {
  const entries = new Map<string, Entry[]>();
  // (qid, docid) -> line it was first seen on; a repeated pair has no single rank to score.
  const seen = new Map<string, Map<string, number>>();
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const where = `${source} line ${line}`;
    const fields = raw.trim().split(/\s+/);
    if (fields.length === 1 && fields[0] === '') return;
    if (fields.length !== TREC_FIELDS.length) {
      throw new ValidationError(
        FIELD,
        `${where}: expected 6 fields (qid Q0 docid rank score tag), got ${fields.length}`,
      );
    }
    const [qid, , doc, rankText, scoreText] = fields as [string, string, string, string, string, string];
    const bad = (at: number, why: string): ValidationError =>
      new ValidationError(FIELD, `${where}: field ${at + 1} (${TREC_FIELDS[at]}) ${why}`);
    if (!ids.queryIds.has(qid)) throw bad(0, `${quote(qid)} is not a query id of the dataset`);
    if (!ids.docIds.has(doc)) throw bad(2, `${quote(doc)} is not a doc id of the dataset`);
    if (!/^\d+$/.test(rankText)) throw bad(3, `${quote(rankText)} is not a non-negative integer`);
    const score = Number(scoreText);
    if (scoreText === '' || !Number.isFinite(score))
      throw bad(4, `${quote(scoreText)} is not a finite number`);
    let docsSeen = seen.get(qid);
    if (!docsSeen) seen.set(qid, (docsSeen = new Map()));
    const first = docsSeen.get(doc);
    if (first !== undefined) throw bad(2, `${quote(doc)} repeats query ${quote(qid)} of line ${first}`);
    docsSeen.set(doc, line);
    let list = entries.get(qid);
    if (!list) entries.set(qid, (list = []));
    list.push({ doc, score, rank: Number(rankText) });
  });
  return entries;
}

function parseJson(text: string, source: string, ids: RunIds): Map<string, Entry[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ValidationError(FIELD, `${source} is not valid JSON (${(cause as Error).message})`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(parsed)) throw new ValidationError(FIELD, `${source} must be an object of query ids`);
  const entries = new Map<string, Entry[]>();
  for (const [qid, docs] of Object.entries(parsed)) {
    const where = `${source} query ${quote(qid)}`;
    if (!ids.queryIds.has(qid)) throw new ValidationError(FIELD, `${where}: not a query id of the dataset`);
    if (!isObject(docs)) throw new ValidationError(FIELD, `${where}: must be an object of doc id -> score`);
    const list: Entry[] = [];
    for (const [doc, score] of Object.entries(docs)) {
      if (!ids.docIds.has(doc)) {
        throw new ValidationError(FIELD, `${where} doc ${quote(doc)}: not a doc id of the dataset`);
      }
      if (typeof score !== 'number' || !Number.isFinite(score)) {
        throw new ValidationError(FIELD, `${where} doc ${quote(doc)}: score must be a finite number`);
      }
      list.push({ doc, score, rank: 0 });
    }
    entries.set(qid, list);
  }
  return entries;
}
