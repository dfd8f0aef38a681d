/**
 * Reranking through the API with the fixture cross-encoder: POST /v1/rerank, the query path's
 * `reranked` flag, the per-request opt-out, and the live flag and canary.
 */
import t from 'tap';

import { setSetting } from '../../src/db/procedures.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';
import { ensureFixtureModel, rerankEnv, withEnv } from '../helpers/models.js';

// The reranker reads its model settings from process.env on first use.
const env = rerankEnv(await ensureFixtureModel(), { RERANK_CIRCUIT_MS: '10000' });
t.teardown(withEnv(env));
const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl, env });

const texts = [
  'the cat sat on the mat',
  'stock markets fell sharply',
  'a kitten sleeps on a rug',
  'rain is expected tomorrow',
];
await api.request('POST', '/v1/chunks/batch', {
  body: { user_id: 'u', chunks: texts.map((text, i) => ({ doc_id: 'd', text, embedding: testVector(i) })) },
});
const query = (extra: Record<string, unknown> = {}) =>
  api.request('POST', '/v1/query', {
    body: { user_id: 'u', query: 'where is the cat?', embedding: testVector(0), k: 3, ...extra },
  });

async function settle(predicate: (s: { enabled: boolean; rolloutPercent: number }) => boolean) {
  for (let i = 0; i < 200; i++) {
    const s = (await api.request('GET', '/metrics/memory', { token: null })).json.settings;
    if (predicate(s)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('setting did not arrive');
}

t.test('the daemon loads the configured model at start-up, before any rerank asks for it', async (t) => {
  // On a busy CI machine the load may take seconds; test/http/rerank-errors.test.ts covers what
  // strict callers get meanwhile (503 model_loading).
  let state = '';
  for (let i = 0; i < 6000 && state !== 'ready' && state !== 'failed'; i++) {
    state = (await api.request('GET', '/readyz', { token: null })).json.checks.reranker.state as string;
    if (state !== 'ready') await new Promise((r) => setTimeout(r, 10));
  }
  t.equal(state, 'ready');
});

t.test(
  "POST /v1/rerank answers the Cohere / Infinity / Jina request shapes that LangChain's and LlamaIndex's rerankers send",
  async (t) => {
    const native = await api.request('POST', '/v1/rerank', { body: { query: 'where is the cat?', texts } });
    t.equal(native.status, 200, JSON.stringify(native.json));
    const expected = (native.json.results as Array<{ index: number; score: number }>).map((r) => ({
      index: r.index,
      relevance_score: r.score,
    }));
    // Exactly what each client puts on the wire (fields they leave unset are omitted, as they do).
    const shapes: Array<[string, Record<string, unknown>, Record<string, string>]> = [
      [
        // cohere-python v5 `client.rerank(...)`, called by langchain_cohere.CohereRerank and
        // llama_index CohereRerank: POST {base_url}/v1/rerank.
        'cohere-python (LangChain / LlamaIndex CohereRerank)',
        { model: 'rerank-english-v3.0', query: 'where is the cat?', documents: texts, top_n: 2 },
        { 'x-fern-language': 'Python', 'x-fern-sdk-name': 'cohere', 'x-client-name': 'langchain:partner' },
      ],
      [
        'Cohere with {text} documents and return_documents',
        {
          model: 'rerank-english-v3.0',
          query: 'where is the cat?',
          documents: texts.map((text) => ({ text })),
          top_n: 2,
          return_documents: true,
        },
        {},
      ],
      [
        // infinity_client / langchain_community InfinityRerank
        'Infinity',
        {
          query: 'where is the cat?',
          documents: texts,
          return_documents: false,
          raw_scores: false,
          model: 'mixedbread-ai/mxbai-rerank-xsmall-v1',
          top_n: 2,
        },
        {},
      ],
      [
        // llama_index JinaRerank / langchain_community JinaRerank
        'Jina',
        { model: 'jina-reranker-v1-base-en', query: 'where is the cat?', documents: texts, top_n: 2 },
        { accept: 'application/json', 'accept-encoding': 'identity' },
      ],
    ];
    for (const [client, body, headers] of shapes) {
      const res = await api.request('POST', '/v1/rerank', { body, headers });
      t.equal(res.status, 200, `${client}: ${JSON.stringify(res.json)}`);
      const results = res.json.results as Array<{
        index: number;
        relevance_score: number;
        document?: unknown;
      }>;
      t.same(
        results.map(({ index, relevance_score }) => ({ index, relevance_score })),
        expected.slice(0, 2),
        `${client}: the native order and scores, cut to top_n`,
      );
      if (body.return_documents === true) {
        t.same(
          results.map((r) => r.document),
          results.map((r) => ({ text: texts[r.index] })),
          `${client}: each result carries its document`,
        );
      } else {
        t.notOk(
          results.some((r) => 'document' in r),
          `${client}: no documents unless asked`,
        );
      }
      t.type(res.json.id, 'string');
    }
    const bad = await api.request('POST', '/v1/rerank', {
      body: { query: 'q', documents: ['fine', { title: 'no text' }] },
    });
    t.equal(bad.status, 400);
    t.equal(bad.json.error.field, 'documents[1].text');
  },
);

t.test('POST /v1/rerank scores every text and answers them best first, cut to top_n', async (t) => {
  const res = await api.request('POST', '/v1/rerank', {
    body: { query: 'where is the cat?', texts, top_n: 2 },
  });
  t.equal(res.status, 200, JSON.stringify(res.json));
  t.equal(res.json.results.length, 2);
  for (const r of res.json.results) {
    t.ok(Number.isInteger(r.index) && r.index >= 0 && r.index < texts.length);
    t.ok(r.score >= 0 && r.score <= 1);
  }
  t.ok(res.json.results[0].score >= res.json.results[1].score, 'best first');
  const all = await api.request('POST', '/v1/rerank', { body: { query: 'q', texts } });
  t.same(
    all.json.results.map((r: { index: number }) => r.index).sort(),
    [0, 1, 2, 3],
    'without top_n: every text once',
  );
});

t.test('queries are reranked when enabled, with ann_rank kept', async (t) => {
  const res = await query();
  t.equal(res.status, 200);
  t.equal(res.json.reranked, true);
  t.equal(res.json.results.length, 3);
  const annRanks = res.json.results.map((r: { ann_rank: number }) => r.ann_rank);
  // Every candidate of this tenant is in the ANN list (texts.length < the default candidates).
  for (const rank of annRanks)
    t.ok(Number.isInteger(rank) && rank >= 1 && rank <= texts.length, `ann_rank ${rank}`);
  t.equal(new Set(annRanks).size, annRanks.length, 'each ann_rank once');
  t.type(res.json.timings_ms.rerank, 'number');
  // The score is the cross-encoder's probability for (query, text): what /v1/rerank answers.
  const hits = res.json.results as Array<{ text: string; score: number; score_kind: string }>;
  const direct = await api.request('POST', '/v1/rerank', {
    body: { query: 'where is the cat?', texts: hits.map((hit) => hit.text) },
  });
  for (const { index, score } of direct.json.results as Array<{ index: number; score: number }>) {
    t.equal(hits[index]!.score_kind, 'rerank');
    t.ok(Math.abs(hits[index]!.score - score) < 1e-5, `hit ${index}: ${hits[index]!.score} = ${score}`);
  }
});

t.test('rerank:false in the request answers in ANN order', async (t) => {
  const res = await query({ rerank: false, mode: 'dense' });
  t.equal(res.json.reranked, false);
  t.same(
    res.json.results.map((r: { ann_rank: number }) => r.ann_rank),
    [1, 2, 3],
  );
  t.same(
    res.json.results.map((r: { score_kind: string }) => r.score_kind),
    ['cosine', 'cosine', 'cosine'],
  );
});

t.test('a rollout of 0% keeps every tenant on ANN order; 100% reranks again', async (t) => {
  await setSetting(db.admin, 'rerank_rollout_percent', 0);
  await settle((s) => s.rolloutPercent === 0);
  t.equal((await query()).json.reranked, false);
  await setSetting(db.admin, 'rerank_rollout_percent', 100);
  await settle((s) => s.rolloutPercent === 100);
  t.equal((await query()).json.reranked, true);
});

t.test('with rerank_enabled off, queries use ANN order and /v1/rerank answers 503', async (t) => {
  await setSetting(db.admin, 'rerank_enabled', false);
  await settle((s) => !s.enabled);
  t.equal((await query()).json.reranked, false);
  const res = await api.request('POST', '/v1/rerank', { body: { query: 'q', texts } });
  t.equal(res.status, 503);
  t.equal(res.json.error.code, 'rerank_disabled');
});

t.test('GET /metrics/memory counts reranked and skipped calls', async (t) => {
  const m = (await api.request('GET', '/metrics/memory', { token: null })).json;
  t.ok(m.rerank.reranked >= 2);
  t.ok(m.rerank.skips >= 2);
  t.match(m.rerank.skipsByReason, { rollout: Number, disabled: Number });
});
