#!/usr/bin/env node
/* global process, console, performance */
// The layout and partitioning measurements behind docs/ARCHITECTURE.md "A narrow search layout"
// (issue 17), as run: superuser SQL on a scratch database `exp17` (created, left for inspection),
// RLS not involved. Synthetic corpus of the bench suites (dist/bench/corpus.js: 100,000 chunks of
// skewed tenants, 50k/20k/10k large ones, plus a 5,000-chunk tenant), 384 dims.
// Tables: `wide` (memory_chunks' columns, fake blobs of the write path's sizes, vector(384)),
// `narrow` (user_hash, id, halfvec), `slim` (the wide row without its blobs, halfvec), `part`
// (narrow, hash-partitioned by user_hash, PARTS partitions). Prints sizes, the exact scan of the
// 5k tenant per layout against a bare halfvec table, then HNSW latency and recall@10 (candidates
// re-ranked by the exact float32 distance, as the daemon does) per ef_search for the 50k and 20k
// tenants. Needs `npm run build` and a superuser connection:
//   PGHOST=/path/to/socket PGPORT=5432 PGUSER=postgres node scripts/search-layout-experiment.mjs
// Layout + partitioning experiment for issue 17 (scratch; superuser; RLS not involved).
import { createHash,randomBytes, randomUUID } from 'node:crypto';

import pg from 'pg';

import { planTenants, samplePoint, topicCentres, vectorText } from '../dist/bench/corpus.js';
import { seededRandom } from '../dist/bench/stats.js';
const DIM = Number(process.env.DIM ?? 384), TOTAL = Number(process.env.TOTAL ?? 100000), PARTS = Number(process.env.PARTS ?? 8);
const base = {};
const log = (...a) => console.log(new Date().toISOString().slice(11, 19), ...a);
const root = new pg.Client({ ...base, database: 'postgres' }); await root.connect();
await root.query('drop database if exists exp17'); await root.query('create database exp17'); await root.end();
const db = new pg.Client({ ...base, database: 'exp17' }); await db.connect();
await db.query('create extension vector');
await db.query(`create table wide (user_hash text not null, id uuid not null, doc_id text not null, source text not null default '', text_cipher bytea not null, meta_cipher bytea not null, emb_cipher bytea not null, embedding vector(${DIM}) not null, key_id int not null, created_at timestamptz not null default now(), updated_at timestamptz not null default now(), key_scheme smallint not null default 2, primary key (user_hash, id))`);
await db.query(`create index on wide (user_hash, doc_id)`);
await db.query(`create table narrow (user_hash text not null, id uuid not null, embedding halfvec(${DIM}) not null, primary key (user_hash, id))`);
await db.query(`create table slim (user_hash text not null, id uuid not null, doc_id text not null, source text not null default '', key_id int not null, key_scheme smallint not null default 2, created_at timestamptz not null default now(), updated_at timestamptz not null default now(), embedding halfvec(${DIM}) not null, primary key (user_hash, id))`);
await db.query(`create table part (user_hash text not null, id uuid not null, embedding halfvec(${DIM}) not null, primary key (user_hash, id)) partition by hash (user_hash)`);
for (let i = 0; i < PARTS; i++) await db.query(`create table part_${i} partition of part for values with (modulus ${PARTS}, remainder ${i})`);
const plans = planTenants(TOTAL, 1);
const t5k = { userHash: createHash('sha256').update('t5k').digest('hex'), size: 5000, cls: 'medium', topics: [1, 2, 3, 4, 5] };
plans.push(t5k);
const centres = topicCentres(DIM, 1); const random = seededRandom(5);
const text = randomBytes(533), meta = randomBytes(80), emb = randomBytes(DIM * 4 + 33);
let b = { h: [], id: [], e: [] };
const flush = async () => {
  await db.query(`insert into wide (user_hash,id,doc_id,text_cipher,meta_cipher,emb_cipher,embedding,key_id) select h,id,'doc',$4,$5,$6,e::vector,1 from unnest($1::text[],$2::uuid[],$3::text[]) u(h,id,e)`, [b.h, b.id, b.e, text, meta, emb]);
  b = { h: [], id: [], e: [] };
};
for (const p of plans) for (let i = 0; i < p.size; i++) { b.h.push(p.userHash); b.id.push(randomUUID()); b.e.push(vectorText(samplePoint(p, centres, random))); if (b.id.length >= 2000) await flush(); }
if (b.id.length) await flush();
log('loaded wide', TOTAL + 5000);
await db.query('insert into narrow select user_hash, id, embedding::halfvec from wide');
await db.query('insert into slim (user_hash,id,doc_id,source,key_id,embedding) select user_hash, id, doc_id, source, key_id, embedding::halfvec from wide');
await db.query('insert into part select user_hash, id, embedding::halfvec from wide');
await db.query(`create table bare as select id, embedding::halfvec(${DIM}) as embedding from wide where user_hash = $1`.replace('$1', `'${t5k.userHash}'`));
await db.query(`create table bare32 as select id, embedding from wide where user_hash = '${t5k.userHash}'`);
await db.query("alter table bare32 alter column embedding set storage plain");
await db.query('vacuum analyze');
log('copied');
const size = async (t) => (await db.query(`select pg_total_relation_size('${t}')::bigint as s`)).rows[0].s;
const rowsOf = TOTAL + 5000;
for (const t of ['wide', 'narrow', 'slim', 'part']) log('size', t, Math.round(Number(await size(t)) / rowsOf), 'bytes/row before HNSW');
// exact: 5k tenant
const qs = Array.from({ length: 30 }, () => vectorText(samplePoint(t5k, centres, random)));
const time = async (sql, params) => { const t0 = performance.now(); await db.query(sql, params); return performance.now() - t0; };
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const exactShapes = {
  wide: `select id, (embedding <=> $2::vector) + 0 d from wide where user_hash = $1 order by 2 limit 48`,
  narrow: `select id, (embedding <=> $2::halfvec) + 0 d from narrow where user_hash = $1 order by 2 limit 48`,
  slim: `select id, (embedding <=> $2::halfvec) + 0 d from slim where user_hash = $1 order by 2 limit 48`,
  part: `select id, (embedding <=> $2::halfvec) + 0 d from part where user_hash = $1 order by 2 limit 48`,
  bare_halfvec: `select id, (embedding <=> $2::halfvec) + 0 d from bare where $1::text is not null order by 2 limit 48`,
  bare_vector_plain: `select id, (embedding <=> $2::vector) + 0 d from bare32 where $1::text is not null order by 2 limit 48`,
};
await db.query('set max_parallel_workers_per_gather = 0');
for (let rep = 0; rep < 2; rep++) {
  const res = {};
  for (const [k, sql] of Object.entries(exactShapes)) { for (const q of qs.slice(0, 3)) await time(sql, [t5k.userHash, q]); res[k] = []; }
  for (const q of qs) for (const [k, sql] of Object.entries(exactShapes)) res[k].push(await time(sql, [t5k.userHash, q]));
  log('exact 5k-tenant p50 ms', JSON.stringify(Object.fromEntries(Object.entries(res).map(([k, v]) => [k, +med(v).toFixed(2)]))));
}
const buf = await db.query(`explain (analyze, buffers, format json) ${exactShapes.narrow}`, [t5k.userHash, qs[0]]);
log('narrow exact buffers', buf.rows[0]['QUERY PLAN'][0].Plan['Shared Hit Blocks'], 'wide', (await db.query(`explain (analyze, buffers, format json) ${exactShapes.wide}`, [t5k.userHash, qs[0]])).rows[0]['QUERY PLAN'][0].Plan['Shared Hit Blocks']);
if (process.env.NO_HNSW) process.exit(0);
await db.query("set maintenance_work_mem = '1GB'"); await db.query('set max_parallel_maintenance_workers = 1');
for (const [t, ops] of [['wide', 'vector_cosine_ops'], ['narrow', 'halfvec_cosine_ops'], ['part', 'halfvec_cosine_ops']]) {
  const t0 = performance.now(); await db.query(`create index ${t}_hnsw on ${t} using hnsw (embedding ${ops})`); log('hnsw build', t, ((performance.now() - t0) / 1000).toFixed(1), 's');
}
await db.query('vacuum analyze');
for (const t of ['wide', 'narrow', 'part']) log('size with hnsw', t, Math.round(Number(await size(t)) / rowsOf), 'bytes/row');

// HNSW: the 50k and 20k tenants, each shape at ef_search 40-400.
const random2 = seededRandom(Number(process.env.SEED ?? 77));

await db.query("set hnsw.iterative_scan = 'relaxed_order'"); await db.query('set max_parallel_workers_per_gather = 0');
for (const big of [plans[0], plans[1]]) {
  const bq = Array.from({ length: 60 }, () => vectorText(samplePoint(big, centres, random2)));
  const truth = [];
  for (const q of bq) truth.push((await db.query(`select id from wide where user_hash = $1 order by (embedding <=> $2::vector) + 0 limit 10`, [big.userHash, q])).rows.map((r) => r.id));
  const shape = (t, ty) => `with n as materialized (select id, embedding <=> $2::${ty} d from ${t} where user_hash = $1 order by embedding <=> $2::${ty} limit $3) select n.id, n.d, w.embedding <=> $2::vector as exact from n join wide w on w.user_hash = $1 and w.id = n.id order by d`;
  const variants = { wide24: [shape('wide', 'vector'), 24], narrow24: [shape('narrow', 'halfvec'), 24], narrow48: [shape('narrow', 'halfvec'), 48], part24: [shape('part', 'halfvec'), 24], part48: [shape('part', 'halfvec'), 48] };
  for (const ef of [40, 100, 200, 400]) {
    await db.query(`set hnsw.ef_search = ${ef}`);
    const lat = {}, rec = {};
    for (const k of Object.keys(variants)) { lat[k] = []; rec[k] = []; for (const q of bq.slice(0, 3)) await db.query(variants[k][0], [big.userHash, q, variants[k][1]]); }
    for (let i = 0; i < bq.length; i++) {
      const keys = Object.keys(variants); const rot = keys.slice(i % keys.length).concat(keys.slice(0, i % keys.length));
      for (const k of rot) {
        const t0 = performance.now(); const r = await db.query(variants[k][0], [big.userHash, bq[i], variants[k][1]]); lat[k].push(performance.now() - t0);
        // re-scored: the fetched candidates sorted by the exact float32 distance (what the daemon does from emb_cipher)
        const top = [...r.rows].sort((a, b) => a.exact - b.exact).slice(0, 10).map((x) => x.id);
        const got = new Set(top); rec[k].push(truth[i].filter((id) => got.has(id)).length / 10);
      }
    }
    log(`tenant ${big.size} ef ${ef}`, Object.keys(variants).map((k) => `${k} ${med(lat[k]).toFixed(1)}ms r@10 ${(rec[k].reduce((a, x) => a + x, 0) / rec[k].length).toFixed(3)}`).join(' | '));
  }
}

await db.end();
