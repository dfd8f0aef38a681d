import t from 'tap';

import { fuseConvex } from '../../src/memory/index.js';

const lexical = [
  { key: 'a', score: 12 },
  { key: 'b', score: 6 },
  { key: 'c', score: 2 },
];
const dense = [
  { key: 'c', score: 0.9 },
  { key: 'd', score: 0.8 },
  { key: 'a', score: 0.5 },
];

t.test('each side is min-max scaled over its own list and weighted', async (t) => {
  const fused = fuseConvex(lexical, dense, 0.9);
  const byKey = Object.fromEntries(fused.map((f) => [f.key, f]));
  t.ok(Math.abs(byKey.a!.score - 0.9 * 1) < 1e-12, 'a: lexical best, dense worst');
  t.ok(Math.abs(byKey.b!.score - 0.9 * 0.4) < 1e-12, 'b: lexical only');
  t.ok(Math.abs(byKey.c!.score - (0 + 0.1 * 1)) < 1e-12, 'c: lexical worst, dense best');
  t.ok(Math.abs(byKey.d!.score - 0.1 * 0.75) < 1e-12, 'd: dense only');
  t.same(
    fused.map((f) => f.key),
    ['a', 'b', 'c', 'd'],
  );
  t.same(byKey.c, { key: 'c', score: byKey.c!.score, lexicalRank: 3, denseRank: 1 });
});

t.test('weight 0 and 1 reproduce each side alone', async (t) => {
  t.same(
    fuseConvex(lexical, dense, 1)
      .slice(0, 3)
      .map((f) => f.key),
    ['a', 'b', 'c'],
  );
  t.same(
    fuseConvex(lexical, dense, 0)
      .slice(0, 3)
      .map((f) => f.key),
    ['c', 'd', 'a'],
  );
});

t.test('a side with no candidates leaves the other order unchanged', async (t) => {
  t.same(
    fuseConvex([], dense, 0.9).map((f) => f.key),
    ['c', 'd', 'a'],
  );
  t.same(fuseConvex([], [], 0.9), []);
});

t.test("a single candidate, or tied scores, count as that side's best", async (t) => {
  t.equal(fuseConvex([{ key: 'x', score: 3 }], [], 0.9)[0]!.score, 0.9);
  const tied = fuseConvex(
    [
      { key: 'x', score: 1 },
      { key: 'y', score: 1 },
    ],
    [],
    1,
  );
  t.same(
    tied.map((f) => [f.key, f.score]),
    [
      ['x', 1],
      ['y', 1],
    ],
    'ties keep the lexical order',
  );
});
