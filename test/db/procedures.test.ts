/** Procedure argument errors: each raises its documented SQLSTATE and maps to a typed error. */
import { randomUUID } from 'node:crypto';

import t from 'tap';

import * as procedures from '../../src/db/procedures.js';
import { createTestDatabase, randomUserHash, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const tenant = randomUserHash();

const chunk = (overrides: Partial<procedures.SealedChunk> = {}): procedures.SealedChunk => ({
  id: randomUUID(),
  docId: 'doc',
  source: 'src',
  textCipher: Buffer.from([1]),
  metaCipher: Buffer.from([2]),
  embCipher: Buffer.from([3]),
  embedding: testVector(1),
  ...overrides,
});

t.test('rejects a malformed user_hash (MV001)', async (t) => {
  for (const hash of ['', 'abc', 'A'.repeat(64), 'g'.repeat(64), `${'a'.repeat(63)}'`]) {
    await t.rejects(procedures.search(db.app, hash, testVector(1), { limit: 5 }), {
      name: 'ProcedureArgumentError',
      sqlstate: 'MV001',
    });
  }
  await t.rejects(procedures.storeSealedChunks(db.app, 'nope', [chunk()], 1, 1), {
    name: 'ProcedureArgumentError',
    sqlstate: 'MV001',
  });
  await t.rejects(procedures.forgetTenant(db.app, 'nope'), {
    name: 'ProcedureArgumentError',
    sqlstate: 'MV001',
  });
});

t.test('rejects an empty batch and a batch over 1000 (MV002)', async (t) => {
  await t.rejects(procedures.storeSealedChunks(db.app, tenant, [], 1, 1), {
    sqlstate: 'MV002',
    code: 'invalid_argument',
  });
  const many = Array.from({ length: 1001 }, () => chunk());
  await t.rejects(procedures.storeSealedChunks(db.app, tenant, many, 1, 1), {
    name: 'ProcedureArgumentError',
    sqlstate: 'MV002',
  });
});

t.test('rejects empty or over-long doc ids and over-long sources (MV002)', async (t) => {
  await t.rejects(procedures.storeSealedChunks(db.app, tenant, [chunk({ docId: '' })], 1, 1), {
    name: 'ProcedureArgumentError',
    sqlstate: 'MV002',
  });
  await t.rejects(procedures.storeSealedChunks(db.app, tenant, [chunk({ docId: 'x'.repeat(257) })], 1, 1), {
    name: 'ProcedureArgumentError',
    sqlstate: 'MV002',
  });
  await t.rejects(procedures.storeSealedChunks(db.app, tenant, [chunk({ source: 'x'.repeat(257) })], 1, 1), {
    name: 'ProcedureArgumentError',
    sqlstate: 'MV002',
  });
  await t.rejects(procedures.deleteDoc(db.app, tenant, ''), {
    name: 'ProcedureArgumentError',
    sqlstate: 'MV002',
  });
});

t.test('rejects parallel arrays of different lengths (MV003)', async (t) => {
  await t.rejects(
    db.app.query(
      "select memory.index_chunks($1, array[gen_random_uuid()], array['a','b'], array['s'], array['\\x01'::bytea], array['\\x01'::bytea], array['\\x01'::bytea], array[$2::vector], 1, 1::smallint)",
      [tenant, procedures.vectorLiteral(testVector(1))],
    ),
    { code: 'MV003' },
  );
});

t.test('rejects a search limit outside 1..1000 (MV007)', async (t) => {
  for (const limit of [0, -1, 1001]) {
    await t.rejects(procedures.search(db.app, tenant, testVector(1), { limit }), {
      sqlstate: 'MV007',
      code: 'limit_out_of_range',
    });
  }
});

t.test('rejects an embedding of the wrong dimension (MV008)', async (t) => {
  await t.rejects(procedures.search(db.app, tenant, [1, 0, 0], { limit: 5 }), {
    sqlstate: 'MV008',
    code: 'dimension_mismatch',
  });
  await t.rejects(
    procedures.storeSealedChunks(db.app, tenant, [chunk({ embedding: testVector(1, 512) })], 1, 1),
    {
      name: 'ProcedureArgumentError',
      sqlstate: 'MV008',
    },
  );
});

t.test('rejects unknown settings (MV005) and out-of-range values (MV006)', async (t) => {
  await t.rejects(procedures.setSetting(db.admin, 'rerank_enable', true), {
    sqlstate: 'MV005',
    code: 'unknown_setting',
  });
  await t.rejects(procedures.setSetting(db.admin, 'rerank_enabled', 'yes'), {
    name: 'ProcedureArgumentError',
    sqlstate: 'MV006',
  });
  await t.rejects(procedures.setSetting(db.admin, 'rerank_circuit_ms', 0), {
    name: 'ProcedureArgumentError',
    sqlstate: 'MV006',
  });
  await t.rejects(procedures.setSetting(db.admin, 'rerank_rollout_percent', 101), {
    name: 'ProcedureArgumentError',
    sqlstate: 'MV006',
  });
  await t.rejects(procedures.setSetting(db.admin, 'ann_iterative_scan', 'sideways'), {
    name: 'ProcedureArgumentError',
    sqlstate: 'MV006',
  });
  await t.rejects(procedures.setSetting(db.admin, 'rescore_overfetch', 0.5), {
    name: 'ProcedureArgumentError',
    sqlstate: 'MV006',
  });
  // The search layout is the vector backfill's to switch (memory.finish_vector_backfill), never a
  // setting: switching to a half-filled table would hide chunks from search.
  await t.rejects(procedures.setSetting(db.admin, 'search_layout', 'vectors'), {
    sqlstate: 'MV005',
    code: 'unknown_setting',
  });
  await procedures.setSetting(db.admin, 'rerank_rollout_percent', 5);
  await procedures.setSetting(db.admin, 'rescore_overfetch', 1.5);
  t.same(await procedures.getSettings(db.app), {
    rerank_rollout_percent: 5,
    rescore_overfetch: 1.5,
    // A new database searches the narrow layout from the start (migration 000011).
    search_layout: 'vectors',
    // and requires tenant proofs from the start (migration 000017).
    tenant_proofs: 'required',
  });
  // Not a setting anyone switches back through set_setting: only `tenants prove` writes it.
  await t.rejects(procedures.setSetting(db.admin, 'tenant_proofs', 'optional'), {
    sqlstate: 'MV005',
    code: 'unknown_setting',
  });
  await db.admin.query("select memory.reset_setting('rescore_overfetch')");
});

t.test('a duplicate chunk id is a DuplicateChunkError and the batch is not half-written', async (t) => {
  const first = chunk();
  await procedures.storeSealedChunks(db.app, tenant, [first], 1, 1);
  const fresh = chunk({ docId: 'atomic' });
  await t.rejects(procedures.storeSealedChunks(db.app, tenant, [fresh, { ...first }], 1, 1), {
    name: 'DuplicateChunkError',
  });
  t.equal(
    (await procedures.getChunks(db.app, tenant, [fresh.id])).length,
    0,
    'the fresh chunk of the failed batch is absent',
  );
});

t.test(
  'index_chunk stores one chunk whole for its tenant only; a repeated id is a DuplicateChunkError',
  async (t) => {
    const one = chunk({ docId: 'single', textCipher: Buffer.from('sealed text') });
    t.equal(await procedures.storeSealedChunk(db.app, tenant, one, 7, 1), 1);
    const [stored] = await procedures.getChunks(db.app, tenant, [one.id]);
    t.equal(stored?.doc_id, 'single');
    t.same(stored?.text_cipher, Buffer.from('sealed text'));
    t.equal(stored?.key_id, 7);
    t.same(await procedures.getChunks(db.app, randomUserHash(), [one.id]), [], 'another tenant sees nothing');
    await t.rejects(procedures.storeSealedChunk(db.app, tenant, one, 7, 1), { name: 'DuplicateChunkError' });
  },
);

t.test(
  'index_chunks and index_chunk have no default key scheme: a call that omits it does not resolve (42883)',
  async (t) => {
    // With the old default of 1, these nine-argument calls stored rows labelled as sealed under a
    // key-ring key, whatever had sealed them.
    const one = chunk();
    const vector = procedures.vectorLiteral(one.embedding);
    await t.rejects(
      db.app.query(
        'select memory.index_chunks($1::text, $2::uuid[], $3::text[], $4::text[], $5::bytea[], $6::bytea[], $7::bytea[], $8::public.vector[], $9::integer)',
        [
          tenant,
          [one.id],
          [one.docId],
          [one.source],
          [one.textCipher],
          [one.metaCipher],
          [one.embCipher],
          [vector],
          1,
        ],
      ),
      { code: '42883' },
    );
    await t.rejects(
      db.app.query(
        'select memory.index_chunk($1::text, $2::uuid, $3::text, $4::text, $5::bytea, $6::bytea, $7::bytea, $8::public.vector, $9::integer)',
        [tenant, one.id, one.docId, one.source, one.textCipher, one.metaCipher, one.embCipher, vector, 1],
      ),
      { code: '42883' },
    );
    t.same(await procedures.getChunks(db.app, tenant, [one.id]), [], 'nothing was stored');
  },
);

t.test('search returns the nearest chunks first, with ciphertexts and distances', async (t) => {
  const owner = randomUserHash();
  const chunks = [1, 2, 3, 4].map((seed) => chunk({ docId: `d${seed}`, embedding: testVector(seed) }));
  await procedures.storeSealedChunks(db.app, owner, chunks, 7, 1);
  const rows = await procedures.search(db.app, owner, testVector(3), { limit: 2 });
  t.equal(rows.length, 2);
  t.equal(rows[0]!.doc_id, 'd3');
  t.ok(rows[0]!.distance < 1e-6 && rows[0]!.distance <= rows[1]!.distance);
  t.same(rows[0]!.text_cipher, chunks[2]!.textCipher);
  t.equal(rows[0]!.key_id, 7);
  t.same(
    await procedures
      .search(db.app, owner, testVector(3), { limit: 10, docId: 'd1' })
      .then((r) => r.map((x) => x.doc_id)),
    ['d1'],
  );
  t.same(
    await procedures.tenantStats(db.app, owner).then((s) => [s.chunks, s.documents, s.cipherBytes]),
    [4, 4, 12],
  );
  t.equal(await procedures.deleteDoc(db.app, owner, 'd1'), 1);
  t.equal(await procedures.deleteDoc(db.app, owner, 'd1'), 0, '0 when nothing matched');
  t.equal(await procedures.forgetTenant(db.app, owner), 3);
  t.equal((await procedures.tenantStats(db.app, owner)).chunks, 0);
});

t.test('health reports the applied migrations and the schema dimension', async (t) => {
  const h = await procedures.health(db.app);
  t.equal(h.embeddingDim, 384);
  t.ok(h.migrationCount >= 1);
  t.match(h.vectorVersion, /^\d+\.\d+/);
});

t.test(
  'search takes the exact shape for small tenants and the HNSW shape above ann_exact_max_rows, with the same answers',
  async (t) => {
    const owner = randomUserHash();
    const chunks = Array.from({ length: 12 }, (_, i) =>
      chunk({ docId: `s${i}`, embedding: testVector(100 + i) }),
    );
    await procedures.storeSealedChunks(db.app, owner, chunks, 1, 1);
    // The exact shape sorts by `distance + 0`, a key no index provides; the HNSW shape orders by the
    // bare operator, which the planner may serve from the index (on 12 rows it may still sort).
    const sortKeys = async (): Promise<string> =>
      JSON.stringify(await procedures.explainSearch(db.app, owner, testVector(105), 5));
    const exact = await procedures.search(db.app, owner, testVector(105), { limit: 5 });
    t.match(await sortKeys(), /\+ '0'::double precision/, 'exact shape below the threshold');
    t.ok(
      procedures
        .indexesInPlan(await procedures.explainSearch(db.app, owner, testVector(105), 5))
        .some((name) => ['chunk_vectors_pkey', 'chunk_vectors_scheme_idx'].includes(name)),
      "the tenant's rows from a narrow-table B-tree leading with user_hash",
    );

    await procedures.setSetting(db.admin, 'ann_exact_max_rows', 3);
    t.teardown(() =>
      db.admin.query("select memory.reset_setting('ann_exact_max_rows')").then(() => undefined),
    );
    t.notMatch(await sortKeys(), /\+ '0'::double precision/, 'HNSW shape above it');
    const ann = await procedures.search(db.app, owner, testVector(105), { limit: 5 });
    t.same(
      ann.map((r) => r.doc_id),
      exact.map((r) => r.doc_id),
      'both shapes find the same nearest chunks here',
    );
    t.equal(exact[0]!.doc_id, 's5');
  },
);
