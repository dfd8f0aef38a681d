/**
 * Live settings over LISTEN/NOTIFY: a change made with memory.set_setting in any SQL session
 * reaches the running daemon within a second, also after its listening connection was killed
 * with pg_terminate_backend, and a malformed notification does not break the listener.
 */
import t from 'tap';

import { resetSetting, setSetting } from '../../src/db/procedures.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, {
  databaseUrl: db.appUrl,
  env: { RERANK_ENABLED: 'true', RERANK_CIRCUIT_MS: '250', RERANK_ROLLOUT_PERCENT: '100' },
});

interface Live {
  settings: { enabled: boolean; circuitMs: number; rolloutPercent: number };
  listener: { connected: boolean; reconnects: number };
}
const live = async (): Promise<Live> =>
  (await api.request('GET', '/metrics/memory', { token: null })).json as Live;

/** Polls until `predicate` holds; returns the milliseconds it took (or fails after `limitMs`). */
async function within(limitMs: number, predicate: (state: Live) => boolean): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (predicate(await live())) return Date.now() - started;
    if (Date.now() - started > limitMs)
      throw new Error(`not within ${limitMs} ms: ${JSON.stringify(await live())}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// memory_app may not change settings: an operator does, as the owner (here: the superuser).
const set = (key: string, value: unknown) => setSetting(db.admin, key, value);

t.test('starts with the environment defaults', async (t) => {
  t.match((await live()).settings, { enabled: true, circuitMs: 250, rolloutPercent: 100 });
});

t.test('rerank_enabled, rerank_circuit_ms and rerank_rollout_percent arrive within a second', async (t) => {
  await set('rerank_enabled', false);
  t.ok((await within(1000, (s) => s.settings.enabled === false)) < 1000);
  await set('rerank_circuit_ms', 120);
  await within(1000, (s) => s.settings.circuitMs === 120);
  await set('rerank_rollout_percent', 5);
  await within(1000, (s) => s.settings.rolloutPercent === 5);
  t.pass('all three applied');
});

t.test('a reset setting falls back to the environment default, by NOTIFY alone', async (t) => {
  // The delete fires the same statement trigger as a change: no other change is needed to carry it.
  t.equal(await resetSetting(db.admin, 'rerank_circuit_ms'), true);
  const ms = await within(1000, (s) => s.settings.circuitMs === 250);
  t.ok(ms < 1000, `the default was back in ${ms} ms`);
  t.equal(await resetSetting(db.admin, 'rerank_circuit_ms'), false, 'resetting an unset setting says so');
});

t.test('the per-request rerank:false and a disabled flag answer in ANN order', async (t) => {
  await api.request('POST', '/v1/chunks', {
    body: { user_id: 'u', doc_id: 'd', text: 'some text', embedding: testVector(1) },
  });
  const res = await api.request('POST', '/v1/query', {
    body: { user_id: 'u', query: 'q', embedding: testVector(1), rerank: false, mode: 'dense' },
  });
  t.equal(res.status, 200);
  t.equal(res.json.reranked, false);
  t.equal(res.json.results[0].score_kind, 'cosine', 'not reranked: the score is the cosine similarity');
  t.ok(Math.abs(res.json.results[0].score - 1) < 1e-5, 'the same vector: cosine similarity 1');
});

t.test('after pg_terminate_backend the listener reconnects and changes still arrive', async (t) => {
  const before = (await live()).listener.reconnects;
  const { rows } = await db.admin.query<{ n: number }>(
    "select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = 'memvault-listener') x",
    [db.name],
  );
  t.equal(rows[0]!.n, 1, 'terminated the one listening connection');
  // A change made while the listener is down is caught by the re-read on reconnect.
  await set('rerank_enabled', true);
  await within(
    5000,
    (s) => s.listener.connected && s.listener.reconnects === before + 1 && s.settings.enabled === true,
  );
  await set('rerank_enabled', false);
  const ms = await within(1000, (s) => s.settings.enabled === false);
  t.ok(ms < 1000, `a later change arrived in ${ms} ms`);
});

t.test('a malformed payload on either channel is ignored and the listener keeps working', async (t) => {
  await db.admin.query(
    "select pg_notify('memory_events', 'not json {'), pg_notify('memory_settings', '{broken')",
  );
  await set('rerank_circuit_ms', 77);
  await within(1000, (s) => s.settings.circuitMs === 77 && s.listener.connected);
  t.pass();
});

t.test('chunk, document and tenant events are received (counted in /metrics)', async (t) => {
  for (const doc of ['d', 'd2']) {
    const res = await api.request('POST', '/v1/chunks', {
      body: { user_id: 'u2', doc_id: doc, text: 'event text', embedding: testVector(2) },
    });
    t.equal(res.status, 201);
  }
  // delete_doc publishes doc_deleted only when it deleted something: this one deletes a chunk.
  t.same((await api.request('DELETE', '/v1/users/u2/docs/d')).json, { deleted: 1 });
  await api.request('DELETE', '/v1/users/u2');
  const events = ['chunks_indexed', 'doc_deleted', 'tenant_forgotten'];
  const counted = (text: string, event: string) =>
    new RegExp(`memvault_memory_events_total\\{event="${event}"\\} [1-9]`).test(text);
  let text = '';
  for (let i = 0; i < 100 && !events.every((e) => counted(text, e)); i++) {
    text = (await api.request('GET', '/metrics', { token: null })).json as string;
    await new Promise((r) => setTimeout(r, 10));
  }
  for (const event of events) t.ok(counted(text, event), `${event} received`);
});

t.test(
  'retrieval_mode and hybrid_lexical_weight arrive live: a query naming no mode follows them',
  async (t) => {
    await api.request('POST', '/v1/chunks', {
      body: { user_id: 'm', doc_id: 'd', text: 'the ocelot sleeps', embedding: testVector(3) },
    });
    const modeOf = async () =>
      (
        await api.request('POST', '/v1/query', {
          body: { user_id: 'm', query: 'ocelot', embedding: testVector(3), rerank: false },
        })
      ).json.mode as string;
    t.equal(await modeOf(), 'hybrid', 'the default');
    await set('retrieval_mode', 'lexical');
    const started = Date.now();
    while ((await modeOf()) !== 'lexical') {
      if (Date.now() - started > 2000) throw new Error('retrieval_mode did not arrive within 2 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    t.pass(`retrieval_mode applied in ${Date.now() - started} ms`);
    t.equal(await resetSetting(db.admin, 'retrieval_mode'), true);
    const back = Date.now();
    while ((await modeOf()) !== 'hybrid') {
      if (Date.now() - back > 2000) throw new Error('the reset did not arrive within 2 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    await t.rejects(set('hybrid_lexical_weight', 1.5), { code: 'invalid_setting_value' });
  },
);
