#!/usr/bin/env node
/* global process, console, performance */
// The per-call costs of dense search behind docs/BENCHMARKS.md "search" (issue 17, migration
// 000015), measured in one process, interleaved, through the db layer the daemon uses
// (dist/db/tenant.js, the procedure memory.search_candidates_chunks under memory_app and RLS):
// * how the shape is chosen: a tenant with its upper bound in memory.tenant_search_sizes (one
//   primary-key lookup) against the same-sized tenant without one (counted, as before 000015);
// * round trips: one (inOneTripTransaction: BEGIN; SET LOCAL, the call and COMMIT pipelined)
//   against three (inTransaction, as before);
// * against the bare halfvec scan of the tenant's vectors (superuser, a table of its own), and the
//   procedure's dense query as superuser SQL (the scan plus the candidates' ciphertexts).
// Two 5,000-chunk tenants (512 dims, sealed, written through the write path) on a bench cluster of
// its own (removed at the end). Needs `npm run build`:
//   node scripts/search-call-costs.mjs            (N=200 rounds; N=... to change)
import { loadavg } from 'node:os';

import { BenchCluster } from '../dist/bench/cluster.js';
import { planTenants, samplePoint, topicCentres, vectorText } from '../dist/bench/corpus.js';
import { benchKeys, seedTenant } from '../dist/bench/seed.js';
import { median, seededRandom } from '../dist/bench/stats.js';
import { hmacUser } from '../dist/crypto/index.js';
import { inOneTripTransaction, inTransaction } from '../dist/db/tenant.js';

const DIM = 512;
const SIZE = Number(process.env.SIZE ?? 5000);
const N = Number(process.env.N ?? 200);
const cluster = await BenchCluster.start();
const db = await cluster.createDatabase('callcosts', DIM);
const { admin, app } = db.openPools({ adminMax: 2, appMax: 2 });
try {
  benchKeys();
  const centres = topicCentres(DIM, 5);
  const shape = { ...planTenants(1, 1)[0], topics: [2, 7, 11, 19, 23] };
  const users = ['call-costs-bound', 'call-costs-counted'];
  for (const user of users)
    for (let done = 0; done < SIZE; done += 250)
      await seedTenant(app, DIM, user, shape, Math.min(250, SIZE - done), centres, seededRandom(done + 1));
  const [bound, counted] = users.map((u) => hmacUser(u));
  // The counted tenant as a database upgraded to 000015 has it until its next write: no bound.
  await admin.query('delete from memory.tenant_search_sizes where user_hash = $1', [counted]);
  await admin.query('vacuum (analyze) memory.memory_chunks, memory.chunk_vectors');
  await admin.query(
    `create table public.bare as select id, embedding from memory.chunk_vectors where user_hash = '${bound}'`,
  );
  await admin.query('vacuum (analyze) public.bare');
  const dense = (
    await admin.query(
      "select replace(memory.dense_search_sql(false, false, true, true), '$2', '$2::public.halfvec') as q",
    )
  ).rows[0].q;
  const call =
    'select * from memory.search_candidates_chunks($1::text, $2::public.vector, $3::integer, $4::bigint[], $5::integer, $6::text, $7::text, $8::integer, $9::jsonb)';
  const args = (h, v) => [h, v, 48, [], 24, null, null, null, null];
  const variants = {
    'bare halfvec scan (superuser)': (v) =>
      admin.query(
        'select id, (embedding operator(public.<=>) $1::public.halfvec) + 0 as d from public.bare order by d limit 48',
        [v],
      ),
    'dense query with ciphertexts (superuser)': (v) => admin.query(dense, [bound, v, 48]),
    'procedure, bound, 1 round trip (now)': (v) => inOneTripTransaction(app, call, args(bound, v)),
    'procedure, bound, 3 round trips': (v) => inTransaction(app, (c) => c.query(call, args(bound, v))),
    'procedure, counted, 1 round trip': (v) => inOneTripTransaction(app, call, args(counted, v)),
    'procedure, counted, 3 round trips (before)': (v) =>
      inTransaction(app, (c) => c.query(call, args(counted, v))),
  };
  const names = Object.keys(variants);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  const random = seededRandom(11);
  for (let i = 0; i < N + 5; i++) {
    const v = vectorText(samplePoint(shape, centres, random));
    for (const name of i % 2 ? names : [...names].reverse()) {
      const t0 = performance.now();
      await variants[name](v);
      if (i >= 5) times[name].push(performance.now() - t0);
    }
  }
  const bare = median(times[names[0]]);
  console.log(
    `${SIZE}-chunk tenants, ${N} interleaved rounds, medians; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  for (const name of names)
    console.log(
      `${name.padEnd(44)} ${median(times[name]).toFixed(2).padStart(7)} ms  ${(median(times[name]) / bare).toFixed(2)}x bare`,
    );
} finally {
  await app.end();
  await admin.end();
  await db.drop();
  await cluster.stop();
}
