import t from 'tap';

import { Bm25Index, mrrAt, ndcgAt, recallAt } from '../../src/eval/index.js';

t.test('nDCG@10 and MRR@10 on hand-computed rankings', async (t) => {
  const rel = new Map([
    ['a', 3],
    ['b', 1],
  ]);
  t.equal(ndcgAt(['a', 'b', 'c'], rel), 1, 'ideal order');
  const swapped = (1 / 1 + 3 / Math.log2(3)) / (3 + 1 / Math.log2(3));
  t.ok(Math.abs(ndcgAt(['b', 'a'], rel) - swapped) < 1e-12);
  t.equal(mrrAt(['x', 'y', 'b'], rel), 1 / 3);
  t.equal(mrrAt(['x'], rel), 0);
  t.equal(recallAt(['a', 'x'], rel, 2), 0.5);
});

t.test('BM25 ranks the document that matches rare terms first', async (t) => {
  const index = new Bm25Index([
    'the cat sat on the mat',
    'the dog chased the cat',
    'stock markets fell',
    'the the the',
  ]);
  t.same(index.search('cat mat', 10), [0, 1]);
  t.same(index.search('markets', 10), [2]);
  t.same(index.search('unicorn', 10), []);
});
