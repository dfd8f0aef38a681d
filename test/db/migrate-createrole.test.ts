/**
 * `memvault migrate` connected as a CREATEROLE login role that is not a superuser, on a fresh
 * cluster of its own (it creates cluster-wide roles): the path DEPLOYMENT.md documents for a
 * managed server, where a DBA creates the database and the pgvector extension and hands over.
 */
import { randomUUID } from 'node:crypto';

import pg from 'pg';
import t from 'tap';

import { runDoctor } from '../../src/db/doctor.js';
import { migrateDatabase, VectorExtensionMissingError } from '../../src/db/migrate.js';
import * as procedures from '../../src/db/procedures.js';
import { randomUserHash, testVector } from '../helpers/db.js';
import { ensureTestCrypto } from '../helpers/secrets.js';
import { freshCluster } from './fresh-cluster.js';

// The procedure calls below act as the daemon: a tenant's proof comes from its HMAC key.
ensureTestCrypto();

const cluster = await freshCluster(t);
// The cluster signs every role in by password (scram-sha-256): the roles this test uses get one.
const MIGRATOR_PASSWORD = randomUUID();
const APP_PASSWORD = randomUUID();
// In t.before, so that a failure here is reported and the cluster is still stopped at teardown.
t.before(async () => {
  await cluster.asSuperuser(
    'postgres',
    `create role migrator login createrole nosuperuser password '${MIGRATOR_PASSWORD}'`,
  );
  await cluster.asSuperuser('postgres', 'create database app owner migrator');
  await cluster.asSuperuser('postgres', 'create database app_without_vector owner migrator');
  // What the DBA does once: pgvector is not a trusted extension, so only a superuser can create it.
  await cluster.asSuperuser('app', 'create extension vector');
});

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

t.test('a CREATEROLE migrator without pgvector is told what to run, and nothing changes', async (t) => {
  const url = cluster.url('migrator', 'app_without_vector', MIGRATOR_PASSWORD);
  await t.rejects(migrateDatabase(url, { embeddingDim: 8, quiet: true }), VectorExtensionMissingError);
  await t.rejects(migrateDatabase(url, { embeddingDim: 8, quiet: true }), {
    code: 'vector_extension_missing',
    message: /create extension vector/,
  });
  const roles = await withClient(
    cluster.url('postgres', 'postgres'),
    async (c) => (await c.query("select 1 from pg_roles where rolname like 'memory\\_%'")).rowCount,
  );
  t.equal(roles, 0, 'no role was created before the failure');
});

t.test('a CREATEROLE migrator creates the roles and migrates a fresh database', async (t) => {
  const url = cluster.url('migrator', 'app', MIGRATOR_PASSWORD);
  const first = await migrateDatabase(url, { embeddingDim: 8, quiet: true });
  t.ok(first.bootstrappedRoles, 'the role bootstrap ran');
  t.ok(first.bootstrappedDatabase, 'the database owner ran the database bootstrap');
  t.ok(first.applied.length >= 1, `applied ${first.applied.join(', ')}`);
  const second = await migrateDatabase(url, { embeddingDim: 8, quiet: true });
  t.same(second.applied, [], 'a second run applies nothing');

  // What an operator does for the daemon's role on a managed server (roles.sql sets no password).
  await cluster.asSuperuser('postgres', `alter role memory_app password '${APP_PASSWORD}'`);
  const appUrl = cluster.url('memory_app', 'app', APP_PASSWORD);
  const results = await withClient(appUrl, runDoctor);
  for (const r of results) t.ok(r.ok, `${r.name}: ${r.detail}`);

  await withClient(appUrl, async (app) => {
    const tenant = randomUserHash();
    const id = randomUUID();
    const embedding = testVector(3, 8);
    await procedures.storeSealedChunks(
      app,
      tenant,
      [
        {
          id,
          docId: 'doc',
          source: 'src',
          textCipher: Buffer.from([1]),
          metaCipher: Buffer.from([2]),
          embCipher: Buffer.from([3]),
          embedding,
        },
      ],
      1,
      1,
    );
    const hits = await procedures.search(app, tenant, embedding, { limit: 1 });
    t.same(
      hits.map((h) => h.id),
      [id],
      'memory_app indexes and finds a chunk through the procedures',
    );
    t.same(
      await procedures.search(app, randomUserHash(), embedding, { limit: 1 }),
      [],
      'another tenant sees nothing',
    );
  });
});
