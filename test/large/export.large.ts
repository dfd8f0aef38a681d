/**
 * GET /v1/users/{u}/export streams with constant memory: 100,000 chunks of ~1 KiB written through
 * POST /v1/chunks/batch to a real daemon (`memvault serve` in a child process, so its resident
 * memory is its own), then exported once while the daemon's RSS is sampled from /proc. A server
 * that buffered the export would hold at least the whole NDJSON (over 100 MB); this one holds a
 * page of 500 opened chunks at a time. The database has 8-dimensional embeddings (its own, migrated
 * here) so writing 100k rows costs seconds of HNSW work, not minutes.
 */
import { readFile } from 'node:fs/promises';

import t from 'tap';

import { spawnDaemon } from '../../src/bench/daemon.js';
import { generateKeyBase64 } from '../../src/crypto/index.js';

const CHUNKS = 100_000;
const BATCH = 1_000;
const DIM = 8;

t.setTimeout(900_000);

const db = await migratedDatabase(t, 'export', DIM);
const daemon = await spawnDaemon({
  databaseUrl: db.appUrl,
  keys: { MEMORY_ENCRYPTION_KEY: generateKeyBase64(), MEMORY_TENANT_HMAC_KEY: generateKeyBase64() },
});
t.teardown(() => daemon.stop());

async function residentMb(): Promise<number> {
  const status = await readFile(`/proc/${daemon.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

// ~1 KiB of text per chunk, different per chunk so nothing is shared.
const filler = 'memvault export test '.repeat(48);
const user = 'exporter';

/** One batch of BATCH chunks starting at chunk number `first`, retried as a client should. */
async function writeBatch(first: number): Promise<void> {
  const body = {
    user_id: user,
    chunks: Array.from({ length: BATCH }, (_, i) => ({
      doc_id: `doc-${Math.floor((first + i) / 100)}`,
      text: `${first + i} ${filler}`,
      metadata: { n: first + i },
      embedding: Array.from({ length: DIM }, (_, d) => Math.sin(first + i + d)),
    })),
  };
  // A busy machine may answer 503 (pool wait or statement timeout: nothing written): retry; the
  // Idempotency-Key makes the retry write once even if an earlier attempt landed.
  const key = `export-large-${first}`;
  for (let attempt = 1; ; attempt++) {
    const res = await daemon.client.request('POST', '/v1/chunks/batch', body, {
      timeoutMs: 120_000,
      headers: { 'idempotency-key': key },
    });
    if (res.status === 201) return;
    if (res.status !== 503 || attempt >= 10)
      throw new Error(`batch at ${first}: ${res.status} ${JSON.stringify(res.body)}\n${daemon.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
  }
}

t.test(`export of ${CHUNKS.toLocaleString('en-US')} chunks streams with flat daemon memory`, async (t) => {
  // Two writers at once (one per core): the database and the daemon are separate processes.
  const starts = Array.from({ length: CHUNKS / BATCH }, (_, i) => i * BATCH);
  const writer = async (): Promise<void> => {
    for (let first = starts.shift(); first !== undefined; first = starts.shift()) await writeBatch(first);
  };
  const seeding = Date.now();
  await Promise.all([writer(), writer()]);
  t.comment(
    `seeded ${CHUNKS} chunks through POST /v1/chunks/batch in ${((Date.now() - seeding) / 1000).toFixed(0)} s`,
  );

  // A small export first (one user of one chunk) so the code paths and buffers are warm.
  await daemon.client.request('POST', '/v1/chunks', {
    user_id: 'warm',
    doc_id: 'w',
    text: 'warm',
    embedding: Array.from({ length: DIM }, () => 0.5),
  });
  await fetch(`${daemon.url}/v1/users/warm/export`, {
    headers: { authorization: `Bearer ${daemon.token}` },
  }).then((r) => r.text());
  const before = await residentMb();

  // Each sample pairs the daemon's RSS with how much of the export had arrived: a server that
  // buffered would grow with the bytes sent; a streaming one levels off after its first pages.
  let bytes = 0;
  const samples: { mb: number; rss: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push({ mb: bytes / 1e6, rss: await residentMb() });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const res = await fetch(`${daemon.url}/v1/users/${user}/export`, {
    headers: { authorization: `Bearer ${daemon.token}` },
  });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /application\/x-ndjson/);
  const seen = new Set<number>();
  let pending = '';
  let lastCreatedAt = Infinity;
  let ordered = true;
  const decoder = new TextDecoder();
  for await (const piece of res.body!) {
    bytes += piece.length;
    pending += decoder.decode(piece, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      const chunk = JSON.parse(pending.slice(0, newline)) as {
        metadata: { n: number };
        text: string;
        created_at: string;
      };
      pending = pending.slice(newline + 1);
      const n = chunk.metadata.n;
      seen.add(n);
      // Newest first: created_at never increases down the stream.
      const createdAt = Date.parse(chunk.created_at);
      if (!(createdAt <= lastCreatedAt)) ordered = false;
      lastCreatedAt = createdAt;
      if (!chunk.text.startsWith(`${n} `)) throw new Error(`chunk ${n} has another chunk's text`);
    }
  }
  sampling = false;
  await sampler;
  t.equal(pending, '', 'the export ends with a newline');
  t.equal(seen.size, CHUNKS, 'every chunk exactly once');
  t.ok(ordered, 'newest first (created_at never increases)');
  const exportedMb = bytes / 1e6;
  const peakWhile = (from: number, to: number): number =>
    Math.max(before, ...samples.filter((s) => s.mb >= from && s.mb < to).map((s) => s.rss));
  const peak = peakWhile(0, Infinity);
  const timeline = [0.25, 0.5, 0.75, 1]
    .map((q) => `${Math.round(q * 100)}%: ${peakWhile(0, q * exportedMb + 1e-9).toFixed(0)} MB`)
    .join(', ');
  t.comment(
    `exported ${exportedMb.toFixed(1)} MB of NDJSON; daemon RSS ${before.toFixed(1)} MB before, peak by share sent ${timeline}`,
  );
  t.ok(exportedMb > 100, `the export is large (${exportedMb.toFixed(1)} MB)`);
  t.ok(samples.length >= 20, `RSS sampled through the export (${samples.length} samples)`);
  // Buffering needs at least the export's size (a deliberately buffering build grew 191 MB here),
  // and so does a server that streams but keeps each page it sent. Streaming holds a page of 500
  // opened chunks (~1 MB) plus V8's heap slack, which grows in steps whenever the collector
  // decides (40-66 MB in all seen, in either half of the export): so the bound is on the total.
  t.ok(
    peak - before < exportedMb,
    `RSS grew ${(peak - before).toFixed(1)} MB in all, less than the ${exportedMb.toFixed(1)} MB exported`,
  );
});
import { migratedDatabase } from '../helpers/db.js';
