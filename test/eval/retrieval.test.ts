/**
 * `memvault eval retrieval` end to end from the built CLI on a tiny BEIR folder this test writes:
 * the corpus through POST /v1/chunks/batch (server-side USE-lite), the queries through
 * POST /v1/query of a real daemon, once against DATABASE_URL (a 512-d database on the test
 * cluster; the scratch tenant must be gone afterwards) and once on the private embedded cluster
 * the command starts itself. The corpus is built so that the figures are known exactly: a query
 * identical to one document must find it first, and a query judged against a document with no
 * text can reach at most half its recall.
 */
import { execFile, spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import pg from 'pg';
import t, { type Test } from 'tap';

import { generateKeyBase64 } from '../../src/crypto/index.js';
import {
  chunksOf,
  honoursMode,
  rankedDocIds,
  type RetrievalReport,
  type RetrievalRow,
} from '../../src/eval/index.js';
import { MAX_TEXT_BYTES } from '../../src/memory/validate.js';
import { packageRoot } from '../../src/paths.js';
import { migratedDatabase } from '../helpers/db.js';
import { useLiteDir } from '../helpers/models.js';

const run = promisify(execFile);
const cli = path.join(packageRoot, 'dist', 'cli', 'main.js');

t.test('chunksOf: one chunk per document, empty ones skipped, oversized ones cut to the limit', async (t) => {
  // 'é' is 2 bytes in UTF-8: an odd limit would cut one in half.
  const long = 'é'.repeat(MAX_TEXT_BYTES);
  const { chunks, skipped, truncated } = chunksOf([
    { id: 'a', text: 'plain' },
    { id: 'b', text: '   ' },
    { id: 'c', text: `x${long}` },
  ]);
  t.same(
    chunks.map((c) => c.docId),
    ['a', 'c'],
  );
  t.equal(skipped, 1);
  t.equal(truncated, 1);
  const cut = chunks[1]!.text;
  t.ok(Buffer.byteLength(cut, 'utf8') <= MAX_TEXT_BYTES, 'within the write path limit');
  t.ok(Buffer.byteLength(cut, 'utf8') >= MAX_TEXT_BYTES - 3, 'only the split character is lost');
  t.notOk(cut.includes('\uFFFD'), 'no replacement character from a split UTF-8 sequence');
});

t.test('honoursMode: an echoed mode wins, else a lexical stage must have been timed', async (t) => {
  const dense = { results: [], timings_ms: { embed: 1, search: 2, total: 3 } };
  const lexical = { results: [], timings_ms: { lexical: 1, fuse: 0.1, total: 3 } };
  t.equal(honoursMode('dense', dense), true);
  t.equal(honoursMode('lexical', dense), false, 'a server that predates modes answers densely');
  t.equal(honoursMode('hybrid', dense), false);
  t.equal(honoursMode('lexical', lexical), true);
  t.equal(honoursMode('hybrid', lexical), true);
  t.equal(honoursMode('dense', { ...lexical, mode: 'hybrid' }), false, 'the echoed mode wins');
  t.equal(honoursMode('hybrid', { ...dense, mode: 'hybrid' }), true);
  t.equal(honoursMode('hybrid', { ...lexical, mode: 'dense' }), false);
});

t.test('rankedDocIds keeps the first occurrence of each document', async (t) => {
  t.same(rankedDocIds({ results: [{ doc_id: 'b' }, { doc_id: 'a' }, { doc_id: 'b' }] }), ['b', 'a']);
  t.throws(() => rankedDocIds({ error: {} }), /results/);
});

const modelDir = useLiteDir();
if (!modelDir) {
  t.comment('USE-lite is not bundled: the end-to-end runs below need it');
  t.fail('models/universal-sentence-encoder-lite is missing');
} else {
  const dir = await mkdtemp(path.join(tmpdir(), 'memvault-eval-retrieval-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const dataset = path.join(dir, 'tiny');
  await mkdir(path.join(dataset, 'qrels'), { recursive: true });
  const docs = [
    { _id: 'dog', title: 'Biscuit', text: 'I adopted a golden retriever puppy named Biscuit last spring.' },
    {
      _id: 'rust',
      title: 'Languages',
      text: 'My favourite programming language is Rust, for its borrow checker.',
    },
    { _id: 'tokyo', title: 'Travel', text: 'We are flying to Tokyo for the cherry blossoms in April.' },
    { _id: 'tea', title: 'Tea', text: 'I drink oolong tea at work every afternoon.' },
    { _id: 'blank', title: '', text: '' },
    { _id: 'ocean', title: 'Climate', text: 'Ocean temperatures rose again this year.' },
  ];
  const queries = [
    // Word for word the document's title + text: every mode must put it first.
    { _id: 'q-exact', text: 'Biscuit I adopted a golden retriever puppy named Biscuit last spring.' },
    // Judged against `rust` and the text-less `blank`: recall@100 is exactly 1/2 (5 docs < 100).
    { _id: 'q-half', text: 'Which programming language do I like?' },
    // Judged 0 only: not evaluated, as BEIR does.
    { _id: 'q-unjudged', text: 'cherry blossoms' },
  ];
  await writeFile(path.join(dataset, 'corpus.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n'));
  await writeFile(path.join(dataset, 'queries.jsonl'), queries.map((q) => JSON.stringify(q)).join('\n'));
  await writeFile(
    path.join(dataset, 'qrels', 'test.tsv'),
    'query-id\tcorpus-id\tscore\nq-exact\tdog\t1\nq-half\trust\t1\nq-half\tblank\t1\nq-unjudged\ttokyo\t0\n',
  );

  const evalCli = async (args: string[], env: NodeJS.ProcessEnv) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [cli, 'eval', 'retrieval', ...args], {
        env,
        timeout: 240_000,
        maxBuffer: 16 << 20,
      });
      return { code: 0, stdout, stderr };
    } catch (thrown) {
      const e = thrown as { code?: number; stdout?: string; stderr?: string };
      return {
        code: typeof e.code === 'number' ? e.code : -1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      };
    }
  };
  const row = (report: RetrievalReport, system: string): RetrievalRow => {
    const found = report.rows.find((r) => r.system === system);
    if (!found) throw new Error(`no row ${system} in ${report.rows.map((r) => r.system).join(', ')}`);
    return found;
  };
  // The user's environment without a database: the command's own defaults apply.
  const { DATABASE_URL: _ignored, ...baseEnv } = process.env;

  /** The figures the corpus fixes, for any row that was served. */
  const checkKnownFigures = (t: Test, r: RetrievalRow) => {
    t.equal(r.supported, true, `${r.system} served`);
    t.same(
      r.perQuery.map((q) => q.id),
      ['q-exact', 'q-half'],
      `${r.system}: the evaluated queries, in order`,
    );
    t.equal(r.perQuery[0]!.ndcg10, 1, `${r.system}: the identical document ranks first`);
    t.equal(r.recall100, 0.75, `${r.system}: recall@100 = (1 + 1/2) / 2`);
    t.ok(r.ndcg10 > 0.5 && r.ndcg10 <= 1, `${r.system}: nDCG@10 ${r.ndcg10}`);
    t.ok(r.mrr10 >= 0.5 && r.mrr10 <= 1, `${r.system}: MRR@10 ${r.mrr10}`);
  };

  t.test(
    'against DATABASE_URL: every mode the server serves, BM25 in the same run, tenant removed',
    async (t) => {
      const db = await migratedDatabase(t, 'eval', 512);

      const json = path.join(dir, 'report.json');
      const plot = path.join(dir, 'plots', 'tiny.svg');
      const r = await evalCli(['--dataset', dataset, '--mode', 'all', '--json', json, '--plot', plot], {
        ...baseEnv,
        DATABASE_URL: db.appUrl,
        MEMORY_ENCRYPTION_KEY: generateKeyBase64(),
        MEMORY_TENANT_HMAC_KEY: generateKeyBase64(),
      });
      t.equal(r.code, 0, r.stderr.slice(-3000));
      t.match(r.stderr, /writing 5 chunks through POST \/v1\/chunks\/batch/, 'progress on stderr');
      t.match(r.stdout, /^dense\s+\d\.\d{3}\s+\d\.\d{3}\s+0\.750\s/m, 'the table on stdout');

      const report = JSON.parse(await readFile(json, 'utf8')) as RetrievalReport;
      t.equal(report.format, 'memvault-eval-retrieval/1');
      t.equal(report.database, 'DATABASE_URL');
      t.equal(
        report.command,
        'memvault eval retrieval --dataset .../tiny --mode all',
        'what shaped the figures',
      );
      t.equal(report.k, 100);
      t.equal(report.rerank, false);
      t.equal(report.docs, 6);
      t.equal(report.docsSkipped, 1, 'the document with no text');
      t.equal(report.queries, 2, 'the query judged 0 only is not evaluated');
      t.same(
        report.rows.map((x) => x.system),
        ['dense', 'lexical', 'hybrid', 'BM25 reference'],
      );
      checkKnownFigures(t, row(report, 'dense'));
      const served = report.rows.filter((x) => x.supported && x.system !== 'BM25 reference');
      for (const x of served) {
        checkKnownFigures(t, x);
        t.ok(
          x.latencyMs!.p50 > 0 && x.latencyMs!.p95 >= x.latencyMs!.p50,
          `${x.system}: latency percentiles`,
        );
      }
      const bm25 = row(report, 'BM25 reference');
      checkKnownFigures(t, bm25);
      t.equal(bm25.latencyMs, null, 'in-process: no HTTP latency to report');
      t.equal(bm25.ndcgVsBm25, 1);
      const dense = row(report, 'dense');
      t.equal(dense.p95VsDense, 1, 'the dense row is its own latency baseline');
      t.equal(bm25.p95VsDense, null);
      t.ok(Math.abs(dense.ndcgVsBm25 - dense.ndcg10 / bm25.ndcg10) < 1e-12, 'ratio against the same run');

      const svg = await readFile(plot, 'utf8');
      t.match(svg, /^<svg /);
      t.match(svg, />nDCG@10</);
      t.match(
        svg,
        /memvault eval retrieval --dataset \.\.\.\/tiny --mode all, \d{4}-\d\d-\d\d \d\d:\d\d UTC/,
        'labelled',
      );
      t.equal(
        svg.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="#/g)?.length,
        4 * (served.length + 1),
        'three bars and a legend key per served mode and BM25',
      );

      const admin = new pg.Client({ connectionString: db.adminUrl });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ n: string }>('select count(*) as n from memory.memory_chunks');
        t.equal(Number(rows[0]!.n), 0, 'the scratch tenant is forgotten on a database that is not ours');
      } finally {
        await admin.end();
      }
    },
  );

  t.test('on the private embedded cluster the command starts and removes itself', async (t) => {
    const json = path.join(dir, 'embedded.json');
    const r = await evalCli(
      ['--dataset', dataset, '--mode', 'dense', '--queries', '1', '--json', json],
      baseEnv,
    );
    t.equal(r.code, 0, r.stderr.slice(-3000));
    const report = JSON.parse(await readFile(json, 'utf8')) as RetrievalReport;
    t.equal(report.database, 'embedded');
    t.equal(report.queries, 1);
    t.same(
      report.rows.map((x) => x.system),
      ['dense', 'BM25 reference'],
    );
    t.equal(row(report, 'dense').ndcg10, 1, 'the identical document ranks first');
  });

  t.test('interrupted, the command removes what it started: daemon, cluster, files', async (t) => {
    // Enough documents that the write phase lasts well beyond the signal.
    const big = path.join(dir, 'big');
    await mkdir(path.join(big, 'qrels'), { recursive: true });
    const topics = ['dogs', 'tea', 'rust', 'tokyo', 'oceans', 'markets', 'proteins', 'wings'];
    const lines = Array.from({ length: 600 }, (_, i) =>
      JSON.stringify({
        _id: `d${i}`,
        title: `note ${i}`,
        text: `A note about ${topics[i % topics.length]} number ${i}, written for the interruption test.`,
      }),
    );
    await writeFile(path.join(big, 'corpus.jsonl'), lines.join('\n'));
    await writeFile(path.join(big, 'queries.jsonl'), JSON.stringify({ _id: 'q', text: 'tea' }));
    await writeFile(path.join(big, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq\td1\t1\n');

    const child = spawn(process.execPath, [cli, 'eval', 'retrieval', '--dataset', big, '--mode', 'dense'], {
      env: baseEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const sent = new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/writing 600 chunks/.test(stderr) && child.signalCode === null && !child.killed) {
          child.kill('SIGTERM');
          resolve();
        }
      });
    });
    await Promise.race([sent, exited]);
    const code = await exited;
    t.equal(code, 143, 'the exit status of a SIGTERM', { stderr: stderr.slice(-1500) });
    t.match(stderr, /SIGTERM: stopping the daemon/);
    t.notMatch(stderr, /chunks written: 600\/600/, 'interrupted while writing');
    const home = /private cluster in (\S+)/.exec(stderr)?.[1];
    const url = /daemon ready at (\S+)/.exec(stderr)?.[1];
    t.ok(home?.includes('memvault-bench-'), `the cluster's home was reported: ${home}`);
    t.ok(url?.startsWith('http://127.0.0.1:'), `the daemon's address was reported: ${url}`);
    await t.rejects(access(home!), { code: 'ENOENT' }, 'the cluster and its files are gone');
    await t.rejects(fetch(`${url}/readyz`), 'nothing listens where the daemon was');
  });

  t.test('bad options are refused, naming the option', async (t) => {
    const bogus = await evalCli(['--dataset', dataset, '--mode', 'sparse'], baseEnv);
    t.equal(bogus.code, 2);
    t.match(bogus.stderr, /unknown --mode 'sparse' \(dense, lexical, hybrid, all\)/);
    const typo = await evalCli(['--dataset', dataset, '--querys', '3'], baseEnv);
    t.equal(typo.code, 2);
    t.match(typo.stderr, /Unknown option '--querys'/);
    const missing = await evalCli(['--mode', 'dense'], baseEnv);
    t.equal(missing.code, 2);
    t.match(missing.stderr, /--dataset <BEIR dir> is required/);
  });
}
