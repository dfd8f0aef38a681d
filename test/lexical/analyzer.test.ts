import fc from 'fast-check';
import t from 'tap';

import {
  ANALYZER_NAME,
  ANALYZER_VERSION,
  defaultAnalyzer,
  termFrequencies,
} from '../../src/lexical/index.js';

const analyzer = defaultAnalyzer();

t.test('the analyzer is named and versioned', async (t) => {
  t.equal(ANALYZER_NAME, 'english');
  t.equal(analyzer.version, ANALYZER_VERSION);
  t.ok(Number.isInteger(ANALYZER_VERSION) && ANALYZER_VERSION >= 1);
});

t.test('NFKC and case folding: full-width and upper-case letters fold to the same term', async (t) => {
  t.same(analyzer.terms('ＦＵＬＬ Width'), analyzer.terms('full width'));
  t.same(analyzer.terms('ﬁsh'), ['fish'], 'the ligature ﬁ is two letters');
});

t.test('stop words are dropped and words are Snowball-stemmed', async (t) => {
  t.same(analyzer.terms('The patients were running and the studies'), ['patient', 'run', 'studi']);
});

t.test('inner punctuation splits words as the BM25 reference does', async (t) => {
  t.same(analyzer.terms('COVID-19 at 3.5 mg, p53'), ['covid', '19', '3', '5', 'mg', 'p53']);
});

t.test('scripts written without spaces are split into words by Intl.Segmenter', async (t) => {
  const terms = analyzer.terms('東京都に住んでいます');
  t.ok(terms.length >= 3, `split into ${terms.length} words: ${terms.join(' ')}`);
  t.ok(terms.includes('東京'), 'the dictionary word 東京 is one term');
});

t.test('very long tokens are dropped', async (t) => {
  t.same(analyzer.terms(`${'a'.repeat(65)} tea`), ['tea']);
});

t.test('term frequencies count repeats; the length counts every kept term', async (t) => {
  const { tf, length } = termFrequencies(analyzer, 'tea, more tea and a biscuit');
  t.equal(tf.get('tea'), 2);
  t.equal(tf.get('biscuit'), 1);
  t.equal(length, 3 + (tf.has('more') ? 1 : 0));
});

t.test('the fast path equals Intl.Segmenter for text without dictionary scripts', async (t) => {
  const english = analyzer as unknown as {
    words(text: string): string[];
    segmentedWords(folded: string): string[];
  };
  // No lone combining marks: ICU calls a segment like "a_\u0301" not word-like (a quirk of its rule
  // status), where the fast path keeps "a"; precomposed letters (é, ü) are what NFKC gives anyway.
  const alphabet = [...'abcXYZéüßøαβγжщ019 .,-\'"_/:;!?()\n\t€$%@#'];
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 60 }), (chars) => {
      const text = chars.join('');
      const folded = text.normalize('NFKC').toLowerCase();
      const expected = english.segmentedWords(folded);
      const actual = english.words(text);
      return JSON.stringify(actual) === JSON.stringify(expected);
    }),
    { numRuns: 2000 },
  );
  t.pass('2000 random texts agree');
});
