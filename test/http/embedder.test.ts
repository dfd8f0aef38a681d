/**
 * Server-side embeddings with the real USE-lite encoder (512-d) on a database migrated with 512
 * dimensions: requests may omit `embedding`, and a model whose dimension differs from the
 * schema's stops the daemon at start with a ConfigError naming MEMVAULT_EMBED_MODEL.
 */

import t from 'tap';

import { createEmbedder } from '../../src/embed/index.js';
import { ConfigError } from '../../src/errors.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, migratedDatabase } from '../helpers/db.js';
import { useLiteDir } from '../helpers/models.js';

const modelDir = useLiteDir();
const db = await migratedDatabase(t, '512', 512);

const embedder = await createEmbedder(modelDir, { device: 'cpu', poolSize: 1 });
t.teardown(() => embedder.close());
const api = await startTestDaemon(t, { databaseUrl: db.appUrl, embedder });

t.test('USE-lite produces 512-dimensional embeddings', async (t) => {
  t.equal(embedder.dimension, 512);
});

t.test('chunks and queries without an embedding are embedded by the server', async (t) => {
  const memories = [
    'I adopted a golden retriever puppy named Biscuit.',
    'My favourite programming language is Rust.',
    'We are flying to Tokyo for the cherry blossoms in April.',
  ];
  const res = await api.request('POST', '/v1/chunks/batch', {
    body: { user_id: 'erin', chunks: memories.map((text) => ({ doc_id: 'notes', text })) },
  });
  t.equal(res.status, 201);
  const single = await api.request('POST', '/v1/chunks', {
    body: { user_id: 'erin', doc_id: 'notes', text: 'I drink oolong tea at work.' },
  });
  t.equal(single.status, 201);
  const dog = await api.request('POST', '/v1/query', {
    body: { user_id: 'erin', query: 'What kind of dog do I have?', k: 1 },
  });
  t.equal(dog.status, 200);
  t.match(dog.json.results[0].text, /golden retriever/);
  t.type(dog.json.timings_ms.embed, 'number', 'the embed stage is timed');
  const trip = await api.request('POST', '/v1/query', {
    body: { user_id: 'erin', query: 'travel plans to Japan', k: 1 },
  });
  t.match(trip.json.results[0].text, /Tokyo/);
});

t.test('a repeated query text is embedded once per tenant (the query embedding cache)', async (t) => {
  const hits = async (): Promise<{ hit: number; miss: number }> => {
    const text = (await api.request('GET', '/metrics', { token: null })).json as unknown as string;
    const count = (result: string): number =>
      Number(
        new RegExp(`^memvault_query_embedding_cache_total\\{result="${result}"\\} (\\d+)`, 'm').exec(
          text,
        )?.[1] ?? 0,
      );
    return { hit: count('hit'), miss: count('miss') };
  };
  await api.request('POST', '/v1/chunks', {
    body: { user_id: 'fred', doc_id: 'notes', text: 'My bicycle is a red Brompton.' },
  });
  const ask = (user: string) =>
    api.request('POST', '/v1/query', { body: { user_id: user, query: 'Which bicycle do I ride?', k: 1 } });
  const before = await hits();
  const first = await ask('fred');
  const second = await ask('fred');
  t.same(
    await hits(),
    { hit: before.hit + 1, miss: before.miss + 1 },
    'the second ask did not run the embedder',
  );
  t.same(
    second.json.results.map((r: { id: string; score: number }) => [r.id, r.score]),
    first.json.results.map((r: { id: string; score: number }) => [r.id, r.score]),
    'the same answer, the same scores',
  );
  t.match(second.json.results[0].text, /Brompton/);
  // Another tenant asking the same text embeds it anew: a hit would tell it someone asked it.
  await ask('gina');
  t.same(await hits(), { hit: before.hit + 1, miss: before.miss + 2 }, 'per tenant');
});

t.test('a model whose dimension differs from the schema is refused at start', async (t) => {
  const db384 = await createTestDatabase(t);
  await t.rejects(startTestDaemon(t, { databaseUrl: db384.appUrl, embedder }), ConfigError);
  await t.rejects(startTestDaemon(t, { databaseUrl: db384.appUrl, embedder }), {
    variable: 'MEMVAULT_EMBED_MODEL',
    message: /512.*384/,
  });
});
