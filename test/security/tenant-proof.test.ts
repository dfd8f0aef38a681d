/**
 * A tenant hash alone no longer lets a database role act for the tenant (issue 11, item 5).
 *
 * Before: with `memory_app`'s credentials and one tenant's user_hash (a pseudonym found in every
 * row, a dump, a log), the procedures read that tenant's ciphertext and wrapped keys, searched its
 * embeddings, deleted its documents and inserted junk rows. Now each tenant procedure also needs
 * the tenant's proof, an HMAC under a subkey of MEMORY_TENANT_HMAC_KEY that only the daemon
 * computes; the database keeps only its SHA-256 (the verifier) and refuses anything else (MV014).
 */
import { randomBytes, randomUUID } from 'node:crypto';

import t from 'tap';

import { hmacUser, TenantHmacKey, tenantProof, tenantVerifier } from '../../src/crypto/index.js';
import { mapDatabaseError, TenantProofError } from '../../src/db/errors.js';
import { proveTenants } from '../../src/keys/tenant-proofs.js';
import { startTestDaemon, TEST_SECRETS } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl });

/** One statement as memory_app on its own connection, as an attacker with its password runs it. */
async function asApp(sql: string, values: unknown[]): Promise<{ rows: Record<string, unknown>[] }> {
  const client = await db.app.connect();
  try {
    await client.query('begin');
    const result = await client.query(sql, values);
    await client.query('commit');
    return result;
  } catch (thrown) {
    await client.query('rollback').catch(() => undefined);
    throw mapDatabaseError(thrown);
  } finally {
    client.release();
  }
}

async function writeThroughApi(user: string, docId: string): Promise<string> {
  const write = await api.request('POST', '/v1/chunks', {
    body: {
      user_id: user,
      doc_id: docId,
      source: 'notes',
      text: `secret of ${user}`,
      embedding: testVector(5),
    },
  });
  if (write.status !== 201) throw new Error(`write answered ${write.status}`);
  return write.json.id as string;
}

async function chunkCount(userHash: string): Promise<number> {
  const { rows } = await db.admin.query(
    'select count(*)::int as n from memory.memory_chunks where user_hash = $1',
    [userHash],
  );
  return rows[0].n;
}

const vector = `[${testVector(5).join(',')}]`;

t.test('memory_app with a tenant hash but no proof is refused by every kind of call', async (t) => {
  const user = 'victim-proof';
  const id = await writeThroughApi(user, 'keep');
  // The hash is not secret from the database: it is in every row.
  const userHash = hmacUser(user);
  const { rows } = await db.admin.query('select user_hash from memory.memory_chunks where id = $1', [id]);
  t.equal(rows[0].user_hash, userHash);

  const attempts: Array<[string, string, unknown[]]> = [
    ['read its ciphertext', 'select * from memory.get_chunks($1::text, $2::uuid[])', [userHash, [id]]],
    ['read its wrapped keys', 'select * from memory.get_tenant_keys($1::text)', [userHash]],
    [
      'search its embeddings',
      'select * from memory.search($1::text, $2::public.vector, 10, null, null)',
      [userHash, vector],
    ],
    ['list its chunks', 'select * from memory.list_chunks($1::text, 10, null, null, null, null)', [userHash]],
    ['delete its documents', 'select memory.delete_doc($1::text, $2::text)', [userHash, 'keep']],
    ['forget it', 'select memory.forget_tenant($1::text)', [userHash]],
    [
      'insert a junk row',
      `select memory.index_chunk($1::text, $2::uuid, 'junk', 'x', $3::bytea, $3::bytea, $3::bytea, $4::public.vector, 1, 2::smallint)`,
      [userHash, randomUUID(), randomBytes(40), vector],
    ],
    ['read its stats', 'select * from memory.tenant_stats($1::text)', [userHash]],
  ];
  for (const [what, sql, values] of attempts) {
    await t.rejects(asApp(sql, values), TenantProofError, `${what}: refused without the proof`);
  }

  const forged: Array<[string, string]> = [
    ['a random proof', randomBytes(32).toString('hex')],
    ['the verifier itself (what a dump holds)', tenantVerifier(tenantProof(userHash)!).toString('hex')],
    ['another tenant’s proof', tenantProof(hmacUser('someone-else'))!],
    [
      'the proof under another HMAC key',
      TenantHmacKey.fromBytes(randomBytes(32)).digest('tenant-proof', [userHash]).toString('hex'),
    ],
    ['an empty proof', ''],
  ];
  for (const [what, proof] of forged) {
    await t.rejects(
      asApp('select memory.set_tenant($1::text, $2::text)', [userHash, proof]),
      TenantProofError,
      `${what}: refused`,
    );
    await t.rejects(
      asApp(
        "select set_config('memory.tenant_proof', $2::text, true), (select count(*) from memory.get_chunks($1::text, array[$3::uuid]))",
        [userHash, proof, id],
      ),
      TenantProofError,
      `${what}, set directly: refused`,
    );
  }

  t.equal(await chunkCount(userHash), 1, 'nothing was deleted or inserted');
  const read = await api.request('GET', `/v1/users/${user}/chunks/${id}`);
  t.equal(read.status, 200, 'the daemon, which holds the key, still acts for the tenant');
  t.equal(read.json.text, `secret of ${user}`);

  // Positive control: the same call with the right proof (what only the key's holder computes).
  const { rows: opened } = await asApp(
    "select set_config('memory.tenant_proof', $2::text, true), (select count(*)::int from memory.get_chunks($1::text, array[$3::uuid])) as n",
    [userHash, tenantProof(userHash), id],
  );
  t.equal(opened[0]!.n, 1, 'with the right proof the same call works: the proof is what was missing');
});

t.test('a tenant has a verifier from its first write; forget removes it', async (t) => {
  const user = 'first-write-proof';
  await writeThroughApi(user, 'a');
  const userHash = hmacUser(user);
  const verifier = async () =>
    (await db.admin.query('select verifier from memory.tenant_proofs where user_hash = $1', [userHash]))
      .rows[0]?.verifier as Buffer | undefined;
  t.same(await verifier(), tenantVerifier(tenantProof(userHash)!), 'the stored verifier is sha256(proof)');
  const forgotten = await api.request('DELETE', `/v1/users/${user}`);
  t.equal(forgotten.status, 200);
  t.equal(await verifier(), undefined, 'forgetting the tenant deletes its verifier');
  t.equal(
    (await api.request('GET', `/v1/users/${user}/chunks`)).status,
    200,
    'a forgotten user starts afresh',
  );
});

t.test('rollout: tenants from before proofs are served by hash until `tenants prove`', async (t) => {
  const user = 'legacy-proof';
  const id = await writeThroughApi(user, 'old');
  const userHash = hmacUser(user);
  // A database upgraded with tenants: no verifier yet, proofs optional.
  await db.admin.query('delete from memory.tenant_proofs where user_hash = $1', [userHash]);
  await db.admin.query(`update memory.settings set value = '"optional"' where key = 'tenant_proofs'`);
  const byHash = () => asApp('select * from memory.get_chunks($1::text, $2::uuid[])', [userHash, [id]]);
  t.equal((await byHash()).rows.length, 1, 'optional: a tenant without a verifier is still served by hash');

  // Required with the verifier still missing: refused even to the daemon, until the job stores it.
  await db.admin.query(`update memory.settings set value = '"required"' where key = 'tenant_proofs'`);
  await t.rejects(byHash(), TenantProofError, 'required: a tenant with data and no verifier is refused');
  t.equal((await api.request('GET', `/v1/users/${user}/chunks/${id}`)).status, 500);
  await db.admin.query(`update memory.settings set value = '"optional"' where key = 'tenant_proofs'`);

  const report = await proveTenants(db.admin, TenantHmacKey.fromBase64(TEST_SECRETS.MEMORY_TENANT_HMAC_KEY));
  t.ok(report.stored >= 1, `the job stored the missing verifier(s) (${report.stored})`);
  t.same({ missing: report.missing, required: report.required }, { missing: 0, required: true });
  await t.rejects(byHash(), TenantProofError, 'after the job, the hash alone is refused');
  const read = await api.request('GET', `/v1/users/${user}/chunks/${id}`);
  t.equal(read.status, 200, 'and the daemon is served');
});
