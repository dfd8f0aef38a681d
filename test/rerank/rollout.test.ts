/**
 * The canary cohort (rerank_rollout_percent) at a real canary size: about the right share of
 * tenants, the same answer for the same tenant, and a cohort that only grows as the percentage
 * rises (a tenant reranked at 5% is still reranked at 20%).
 */
import { randomBytes } from 'node:crypto';

import t from 'tap';

import { shouldRerankTenant, tenantBucket } from '../../src/rerank/index.js';

const TENANTS = 10_000;
// User hashes are HMAC-SHA256 hex digests; random 32-byte hex strings have the same distribution.
const hashes = Array.from({ length: TENANTS }, () => randomBytes(32).toString('hex'));

/** Accepts a cohort within 5 standard deviations of n x p (a false alarm about once in 1.7 million runs). */
function binomialBound(n: number, p: number): { low: number; high: number } {
  const sd = Math.sqrt(n * p * (1 - p));
  return { low: Math.floor(n * p - 5 * sd), high: Math.ceil(n * p + 5 * sd) };
}

t.test('at 5%, about 5% of 10k random tenants are in the cohort (binomial bound)', async (t) => {
  const cohort = hashes.filter((h) => shouldRerankTenant(h, 5)).length;
  const { low, high } = binomialBound(TENANTS, 0.05);
  t.ok(cohort >= low && cohort <= high, `${cohort} of ${TENANTS} in [${low}, ${high}]`);
});

t.test('buckets cover 0..9999 evenly enough that each tenth holds about a tenth', async (t) => {
  const buckets = hashes.map(tenantBucket);
  t.ok(
    buckets.every((b) => Number.isInteger(b) && b >= 0 && b < 10_000),
    'every bucket is an integer in 0..9999',
  );
  const tenths = new Array<number>(10).fill(0);
  for (const bucket of buckets) tenths[Math.floor(bucket / 1_000)]!++;
  const { low, high } = binomialBound(TENANTS, 0.1);
  t.ok(
    tenths.every((n) => n >= low && n <= high),
    `tenths ${tenths.join(' ')} each in [${low}, ${high}]`,
  );
});

t.test('the same tenant always gets the same answer', async (t) => {
  for (const h of hashes.slice(0, 500)) {
    const first = shouldRerankTenant(h, 5);
    for (let i = 0; i < 3; i++) {
      if (shouldRerankTenant(h, 5) !== first) t.fail(`tenant ${h.slice(0, 8)} flipped`);
    }
    // Case does not matter for a hex hash (the bucket is read from its first 32 bits).
    if (tenantBucket(h.toUpperCase()) !== tenantBucket(h)) t.fail(`tenant ${h.slice(0, 8)}: case changed it`);
  }
  t.pass('500 tenants, 4 calls each, stable');
});

t.test(
  'raising the rollout only adds tenants: in at 5% means in at 20% (and at 5.5%, 50%, 100%)',
  async (t) => {
    const in5 = hashes.filter((h) => shouldRerankTenant(h, 5));
    const in20 = new Set(hashes.filter((h) => shouldRerankTenant(h, 20)));
    t.ok(in5.length > 0, `${in5.length} tenants in at 5%`);
    t.ok(
      in5.every((h) => in20.has(h)),
      'every 5% tenant is in the 20% cohort',
    );
    for (const percent of [5.5, 50, 100]) {
      t.ok(
        in5.every((h) => shouldRerankTenant(h, percent)),
        `every 5% tenant is in at ${percent}%`,
      );
    }
    const { low, high } = binomialBound(TENANTS, 0.2);
    t.ok(in20.size >= low && in20.size <= high, `${in20.size} in the 20% cohort, in [${low}, ${high}]`);
    t.ok(in20.size > in5.length, 'and the cohort grew');
  },
);

t.test('0% holds nobody and 100% everybody, whatever the bucket', async (t) => {
  t.notOk(hashes.some((h) => shouldRerankTenant(h, 0)));
  t.ok(hashes.every((h) => shouldRerankTenant(h, 100)));
  // Bucket 0 and bucket 9999 at the edges of the range.
  t.equal(tenantBucket('00000000' + 'a'.repeat(56)), 0);
  t.equal(tenantBucket('ffffffff' + 'a'.repeat(56)), 9_999);
  t.notOk(shouldRerankTenant('00000000' + 'a'.repeat(56), 0), 'bucket 0 is out at 0%');
  t.ok(shouldRerankTenant('00000000' + 'a'.repeat(56), 0.01), 'and in at the smallest step, 0.01%');
  t.notOk(shouldRerankTenant('ffffffff' + 'a'.repeat(56), 99.99), 'bucket 9999 is out at 99.99%');
});
