/**
 * A sanity floor, not a benchmark (see bench/crypto.ts for that): the spec requires seal and open
 * of a chunk-sized payload at >= 5,000 ops/s. Real figures are ~20x that, so this stays green on a
 * slow, shared CI runner while still catching an accidental per-call key import or env read.
 */
import { randomBytes } from 'node:crypto';

import t from 'tap';

import { chunkAad, EncryptionKey, KeyRing } from '../../src/crypto/index.js';

const FLOOR_OPS_PER_SEC = 5000;
const ring = new KeyRing([EncryptionKey.fromBytes(1, randomBytes(32))]);
const payload = randomBytes(1024);
const aad = chunkAad('a'.repeat(64), '00000000-0000-4000-8000-000000000000', 'text');

function opsPerSecond(op: () => void, count: number): number {
  for (let i = 0; i < 200; i++) op(); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) op();
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

t.test(`seals and opens 1 KiB payloads at >= ${FLOOR_OPS_PER_SEC} ops/s`, async (t) => {
  const blob = ring.seal(payload, aad);
  const sealRate = opsPerSecond(() => ring.seal(payload, aad), 20_000);
  const openRate = opsPerSecond(() => ring.open(blob, aad), 20_000);
  t.comment(`seal ${Math.round(sealRate)} ops/s, open ${Math.round(openRate)} ops/s (1 KiB, one core)`);
  t.ok(sealRate >= FLOOR_OPS_PER_SEC, `seal ${Math.round(sealRate)} ops/s`);
  t.ok(openRate >= FLOOR_OPS_PER_SEC, `open ${Math.round(openRate)} ops/s`);
});
