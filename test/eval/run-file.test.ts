/**
 * `memvault eval rerank --run FILE`: candidates from a TREC run or BEIR results JSON instead of
 * BM25. A seeded synthetic BEIR folder checks that BM25's own ranking, fed back as a run,
 * reproduces the BM25 figures exactly; a tiny one checks missing queries, the cut, tie order, the
 * reranked rows and every malformed-file error. Both are written here: tests read no dataset from
 * outside the repository.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import t from 'tap';

import { run as evalCommand } from '../../src/cli/commands/eval.js';
import { ValidationError } from '../../src/errors.js';
import { Bm25Index, evalRerank, formatEvalReport, loadBeir, ndcgAt } from '../../src/eval/index.js';
import { seededUniform } from '../../src/models/prng.js';
import { readRerankConfig } from '../../src/rerank/config.js';
import { CrossEncoder } from '../../src/rerank/cross-encoder.js';
import { ensureFixtureModel } from '../helpers/models.js';

const work = await mkdtemp(path.join(tmpdir(), 'memvault-eval-run-'));
t.teardown(() => rm(work, { recursive: true, force: true }));

/** A BEIR folder: 4 docs, 3 evaluated queries (q1..q3) and one without qrels (q4). */
async function tinyBeir(): Promise<string> {
  const dir = path.join(work, 'tiny');
  await mkdir(path.join(dir, 'qrels'), { recursive: true });
  const docs = ['d1', 'd2', 'd3', 'd4'].map((id) =>
    JSON.stringify({ _id: id, title: '', text: `doc ${id}` }),
  );
  const queries = ['q1', 'q2', 'q3', 'q4'].map((id) => JSON.stringify({ _id: id, text: `query ${id}` }));
  await writeFile(path.join(dir, 'corpus.jsonl'), docs.join('\n') + '\n');
  await writeFile(path.join(dir, 'queries.jsonl'), queries.join('\n') + '\n');
  await writeFile(
    path.join(dir, 'qrels', 'test.tsv'),
    ['query-id\tcorpus-id\tscore', 'q1\td1\t1', 'q2\td2\t1', 'q3\td3\t1', ''].join('\n'),
  );
  return dir;
}
const tiny = await tinyBeir();

let files = 0;
async function runFile(text: string, ext = 'txt'): Promise<string> {
  const file = path.join(work, `run-${++files}.${ext}`);
  await writeFile(file, text);
  return file;
}

/**
 * A BEIR folder big enough that BM25's top-100 is a real ranking: 400 documents of 12 words each
 * from a 60-word vocabulary (so every query matches well over 100 documents), 40 queries of 3
 * words taken from one document (the relevant one), and one query with no qrels. Seeded, so the
 * figures repeat.
 */
async function syntheticBeir(): Promise<{ dir: string; queries: number }> {
  const dir = path.join(work, 'synthetic');
  await mkdir(path.join(dir, 'qrels'), { recursive: true });
  const random = seededUniform(20_260_611);
  const pick = (n: number) => Math.floor(random() * n);
  const vocabulary = Array.from({ length: 60 }, (_, i) => `w${i}`);
  const docs = Array.from({ length: 400 }, (_, i) => ({
    id: `doc${i}`,
    words: Array.from({ length: 12 }, () => vocabulary[pick(vocabulary.length)]!),
  }));
  const queries = Array.from({ length: 40 }, (_, i) => {
    const doc = docs[pick(docs.length)]!;
    return { id: `q${i}`, doc: doc.id, text: [0, 1, 2].map(() => doc.words[pick(12)]).join(' ') };
  });
  const corpus = docs.map((d) => JSON.stringify({ _id: d.id, title: '', text: d.words.join(' ') }));
  await writeFile(path.join(dir, 'corpus.jsonl'), corpus.join('\n') + '\n');
  const queryLines = [...queries, { id: 'unjudged', text: 'w1 w2 w3' }].map((q) =>
    JSON.stringify({ _id: q.id, text: q.text }),
  );
  await writeFile(path.join(dir, 'queries.jsonl'), queryLines.join('\n') + '\n');
  const qrels = ['query-id\tcorpus-id\tscore', ...queries.map((q) => `${q.id}\t${q.doc}\t1`), ''];
  await writeFile(path.join(dir, 'qrels', 'test.tsv'), qrels.join('\n'));
  return { dir, queries: queries.length };
}

t.test(
  "BM25's own top-100 fed back as a run reproduces the BM25 figures exactly (TREC and JSON)",
  async (t) => {
    const synthetic = await syntheticBeir();
    const bm25 = await evalRerank({ dataset: synthetic.dir, candidates: 100 });
    t.equal(bm25.queries, synthetic.queries);
    // A ranking with something to lose: a run that mixed up the order would score differently.
    t.ok(bm25.rows[0]!.ndcg10 > 0.05 && bm25.rows[0]!.ndcg10 < 0.95, `BM25 nDCG@10 ${bm25.rows[0]!.ndcg10}`);
    // The same first stage the harness runs, written as a run: lines in reverse order (the file's
    // order must not matter) with strictly decreasing scores, and every query of queries.jsonl.
    const data = await loadBeir(synthetic.dir);
    const index = new Bm25Index(data.docs.map((d) => d.text));
    const lines: string[] = [];
    const json: Record<string, Record<string, number>> = {};
    for (const q of data.queries) {
      json[q.id] = {};
      index.search(q.text, 100).forEach((doc, rank) => {
        const id = data.docs[doc]!.id;
        lines.push(`${q.id} Q0 ${id} ${rank + 1} ${(100 - rank) / 10} bm25`);
        json[q.id]![id] = (100 - rank) / 10;
      });
    }
    t.equal(lines.length, 100 * data.queries.length, 'a full top-100 for every query');
    for (const [format, file] of [
      ['TREC', await runFile(lines.reverse().join('\n') + '\n')],
      ['JSON', await runFile(JSON.stringify(json), 'json')],
    ] as const) {
      const fromRun = await evalRerank({ dataset: synthetic.dir, run: file });
      t.equal(fromRun.candidates, 100, `${format}: the cut is the run's longest list`);
      t.equal(fromRun.queriesWithoutCandidates, bm25.queriesWithoutCandidates);
      const [before] = fromRun.rows;
      t.equal(before!.system, `run ${path.basename(file)}`);
      t.equal(before!.ndcg10, bm25.rows[0]!.ndcg10, `${format}: nDCG@10 ${before!.ndcg10}`);
      t.equal(before!.mrr10, bm25.rows[0]!.mrr10, `${format}: MRR@10`);
      t.equal(before!.recall, bm25.rows[0]!.recall, `${format}: Recall@100`);
    }
  },
);

t.test('queries absent from the run have no candidates and score 0, and the report says so', async (t) => {
  // q2's ties are broken by rank (d2 at rank 1 first), q3 is absent, q4 is not evaluated.
  const file = await runFile(
    ['q1 Q0 d4 1 2.5 x', 'q1 Q0 d1 2 1.5 x', 'q2 Q0 d3 2 1 x', 'q2 Q0 d2 1 1 x', 'q4 Q0 d1 1 9 x', ''].join(
      '\n',
    ),
  );
  const report = await evalRerank({ dataset: tiny, run: file });
  t.equal(report.queries, 3);
  t.equal(report.queriesWithoutCandidates, 1);
  t.equal(report.candidates, 2);
  const [row] = report.rows;
  const q1 = ndcgAt(['d4', 'd1'], new Map([['d1', 1]]));
  t.equal(row!.ndcg10, (q1 + 1 + 0) / 3, 'q1 at rank 2, q2 at rank 1, q3 zero');
  t.equal(row!.mrr10, (1 / 2 + 1 + 0) / 3);
  t.equal(row!.recall, 2 / 3);
  t.match(formatEvalReport(report), /1 of 3 queries have no candidates \(absent from the run\) and score 0/);

  const cut = await evalRerank({ dataset: tiny, run: file, candidates: 1 });
  t.equal(cut.candidates, 1);
  t.equal(cut.rows[0]!.recall, 1 / 3, '--candidates 1 keeps only each list head');
});

t.test('JSON ties fall to the doc id, descending, as trec_eval breaks them', async (t) => {
  const file = await runFile(JSON.stringify({ q1: { d1: 0, d4: 0 }, q2: { d2: 0.5, d3: 0.25 } }));
  const report = await evalRerank({ dataset: tiny, run: file });
  t.equal(report.rows[0]!.mrr10, (1 / 2 + 1 + 0) / 3, 'd4 before d1 for q1');
});

t.test('the cross-encoder reorders the run candidates by its own scores', async (t) => {
  const model = await ensureFixtureModel();
  // Score q1's two candidates with the same cross-encoder directly, then hand them to the run in
  // the order it likes least: only a real rerank can move the relevant one (d1).
  const encoder = new CrossEncoder({
    ...readRerankConfig({ ...process.env, RERANK_MODEL: model }),
    queueMax: 100,
  });
  let direct: number[];
  try {
    await encoder.load();
    direct = await encoder.score(['d1', 'd4'].map((id) => ({ query: 'query q1', passage: `doc ${id}` })));
  } finally {
    await encoder.close();
  }
  t.not(direct[0], direct[1], 'the fixture scores the two passages apart');
  const byScore = ['d1', 'd4'].map((id, i) => ({ id, s: direct[i]! })).sort((a, b) => b.s - a.s);
  const best = byScore.map((x) => x.id);
  const worstFirst = [...best].reverse();
  const file = await runFile(`q1 Q0 ${worstFirst[0]} 1 2 x\nq1 Q0 ${worstFirst[1]} 2 1 x\nq2 Q0 d2 1 1 x\n`);
  const report = await evalRerank({ dataset: tiny, run: file, model });
  t.equal(report.rows.length, 2);
  t.equal(report.rows[1]!.system, `run ${path.basename(file)} top-2 + cross-encoder (${model})`);
  const relevant = new Map([['d1', 1]]);
  // q1 as ranked, q2 (one candidate, relevant) 1, q3 (absent from the run) 0.
  const expected = (order: string[]) => (ndcgAt(order, relevant) + 1 + 0) / 3;
  t.equal(report.rows[0]!.ndcg10, expected(worstFirst), 'the first stage keeps the run order');
  t.equal(report.rows[1]!.ndcg10, expected(best), "the rerank follows the cross-encoder's scores");
  t.not(report.rows[1]!.ndcg10, report.rows[0]!.ndcg10, 'so the two rows differ');
});

t.test('malformed run files are rejected naming the line and field (ValidationError)', async (t) => {
  const ok = 'q1 Q0 d1 1 1.0 x\n';
  const cases: [string, string, RegExp][] = [
    [
      'too few fields',
      ok + 'q1 Q0 d2 2 1.0\n',
      /line 2: expected 6 fields \(qid Q0 docid rank score tag\), got 5/,
    ],
    [
      'unknown doc id',
      ok + '\n' + 'q1 Q0 d9 2 1 x\n',
      /line 3: field 3 \(docid\) "d9" is not a doc id of the dataset/,
    ],
    ['unknown query id', 'q9 Q0 d1 1 1 x\n', /line 1: field 1 \(qid\) "q9" is not a query id of the dataset/],
    [
      'rank not an integer',
      ok + 'q1 Q0 d2 2.5 1 x\n',
      /line 2: field 4 \(rank\) "2.5" is not a non-negative integer/,
    ],
    [
      'score not a number',
      ok + 'q1 Q0 d2 2 high x\n',
      /line 2: field 5 \(score\) "high" is not a finite number/,
    ],
    [
      'score not finite',
      ok + 'q1 Q0 d2 2 Infinity x\n',
      /line 2: field 5 \(score\) "Infinity" is not a finite number/,
    ],
    [
      'repeated pair',
      ok + 'q1 Q0 d1 2 0.5 x\n',
      /line 2: field 3 \(docid\) "d1" repeats query "q1" of line 1/,
    ],
    ['empty file', '\n\n', /holds no candidates/],
    ['broken JSON', '{ "q1": ', /is not valid JSON/],
    ['JSON array of queries', '{"q1": [1]}', /query "q1": must be an object of doc id -> score/],
    ['JSON score a string', '{"q1": {"d1": "1"}}', /query "q1" doc "d1": score must be a finite number/],
    ['JSON unknown doc', '{"q1": {"d9": 1}}', /query "q1" doc "d9": not a doc id of the dataset/],
  ];
  for (const [name, text, message] of cases) {
    const file = await runFile(text);
    await t.rejects(evalRerank({ dataset: tiny, run: file }), ValidationError, name);
    await t.rejects(evalRerank({ dataset: tiny, run: file }), { field: '--run', message }, name);
  }
  await t.rejects(
    evalRerank({ dataset: tiny, run: path.join(work, 'absent.txt') }),
    { field: '--run', message: /cannot read .*absent\.txt \(ENOENT\)/ },
    'a missing file',
  );
});

t.test('the CLI passes --run through and documents it; a bare --run is a usage error', async (t) => {
  const file = await runFile('q1 Q0 d1 1 1 x\n');
  const out = t.capture(console, 'log');
  t.equal(await evalCommand(['rerank', '--dataset', tiny, '--run', file, '--json']), 0);
  const report = JSON.parse(out.args()[0]![0] as string) as {
    firstStage: string;
    queriesWithoutCandidates: number;
  };
  t.equal(report.firstStage, file);
  t.equal(report.queriesWithoutCandidates, 2);
  await t.rejects(evalCommand(['rerank', '--dataset', tiny, '--run']), {
    name: 'UsageError',
    message: /Option '--run <value>' argument missing/,
  });
  const usage = await evalCommand(['rerank']).catch((thrown: unknown) => thrown);
  t.match(usage, { name: 'UsageError', message: /--dataset <BEIR dir> is required/ });
  t.match((usage as { usage: string }).usage, /--run <file>.*TREC run \(qid Q0 docid rank score tag\)/s);
});
