import path from 'node:path';

import t from 'tap';

import { loadTokenizer } from '../../src/models/tokenizer.js';
import { BertPairEncoder } from '../../src/rerank/pair-encoder.js';
import { ensureFixtureModel } from '../helpers/models.js';

const dir = await ensureFixtureModel();
const tokenizer = await loadTokenizer(
  path.join(dir, 'tokenizer.json'),
  path.join(dir, 'tokenizer_config.json'),
);

t.test('encodes a known pair as [CLS] q [SEP] p [SEP] with token types', async (t) => {
  const batch = new BertPairEncoder(tokenizer, 256).encode([
    { query: 'what is a cat', passage: 'a cat is an animal' },
  ]);
  t.same(
    Array.from(batch.inputIds, Number),
    [101, 2054, 2003, 1037, 4937, 102, 1037, 4937, 2003, 2019, 4111, 102],
  );
  t.same(Array.from(batch.tokenTypeIds, Number), [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  t.same(Array.from(batch.attentionMask, Number), Array(12).fill(1));
});

t.test("matches the tokenizer's own pair template when nothing is truncated", async (t) => {
  const encoder = new BertPairEncoder(tokenizer, 256);
  const pairs = [
    { query: 'Héllo WORLD', passage: 'unaffable résumé, 42 cats!' },
    { query: 'how do vaccines work', passage: 'Vaccines train the immune system to recognise a pathogen.' },
  ];
  for (const pair of pairs) {
    const own = tokenizer.encode(pair.query, { text_pair: pair.passage, return_token_type_ids: true });
    const batch = encoder.encode([pair]);
    t.same(Array.from(batch.inputIds, Number), own.ids, pair.query);
    t.same(Array.from(batch.tokenTypeIds, Number), own.token_type_ids, pair.query);
  }
});

t.test('pads a batch to its longest pair with [PAD] and mask 0', async (t) => {
  const batch = new BertPairEncoder(tokenizer, 256).encode([
    { query: 'hello', passage: 'world' },
    { query: 'what is a cat', passage: 'a cat is an animal' },
  ]);
  t.equal(batch.sequence, 12);
  t.same(
    Array.from(batch.inputIds.subarray(0, 12), Number),
    [101, 7592, 102, 2088, 102, 0, 0, 0, 0, 0, 0, 0],
  );
  t.same(Array.from(batch.attentionMask.subarray(0, 12), Number), [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
});

t.test('truncates the passage first to RERANK_MAX_TOKENS', async (t) => {
  const encoder = new BertPairEncoder(tokenizer, 16);
  const long = 'cat '.repeat(100);
  const batch = encoder.encode([{ query: 'what is a cat', passage: long }]);
  t.equal(batch.sequence, 16);
  const ids = Array.from(batch.inputIds, Number);
  t.same(ids.slice(0, 6), [101, 2054, 2003, 1037, 4937, 102], 'query kept whole');
  t.equal(ids[15], 102, 'ends with [SEP]');
  const longQuery = encoder.encode([{ query: long, passage: 'a cat is an animal' }]);
  t.equal(longQuery.sequence, 16);
  t.ok(
    Array.from(longQuery.tokenTypeIds, Number).filter((x) => x === 1).length >= 6,
    'a long query leaves the passage half the window',
  );
});
