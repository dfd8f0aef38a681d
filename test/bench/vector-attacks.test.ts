/**
 * The attacks on the stored vector column (src/bench/vector-attacks.ts), run on real USE-lite
 * embeddings of a small topical corpus built here: each figure on protected vectors next to the
 * same figure on clear ones. The clear figures show the attacks work (so a chance-level result on
 * protected vectors means something); the known-plaintext figures show where protection breaks.
 */
import t from 'tap';

import {
  cosine,
  experimentDataKey,
  knownPlaintext,
  linkage,
  rescoredRecall,
  runVectorAttacks,
  thiefSearch,
  VectorTable,
} from '../../src/bench/vector-attacks.js';
import { vectorKeyOf } from '../../src/crypto/index.js';
import { createEmbedder } from '../../src/embed/index.js';
import { useLiteDir } from '../helpers/models.js';

/** Eight topics, each with things one might remember about it and questions one might ask. */
const TOPICS: Record<string, { things: string[]; questions: string[] }> = {
  cooking: {
    things: [
      'sourdough bread',
      'a tomato sauce',
      'roast chicken',
      'vegetable soup',
      'pancake batter',
      'chocolate cake',
    ],
    questions: [
      'what should I cook for dinner tonight',
      'which recipes did I like',
      'how long to bake it in the oven',
    ],
  },
  astronomy: {
    things: [
      'the rings of Saturn',
      'a distant galaxy',
      'the lunar eclipse',
      "Jupiter's moons",
      'a comet',
      'my telescope',
    ],
    questions: [
      'when can I see the planets in the night sky',
      'stars and space observation',
      'eclipse viewing dates',
    ],
  },
  football: {
    things: [
      'the league table',
      "Saturday's match",
      'our goalkeeper',
      'the penalty shootout',
      'season tickets',
      'the transfer window',
    ],
    questions: ['how did my team play this weekend', 'soccer match results', 'which players scored goals'],
  },
  medicine: {
    things: [
      'my blood pressure',
      'the antibiotic prescription',
      "the cardiologist's advice",
      'a migraine',
      'the flu vaccine',
      'my allergy symptoms',
    ],
    questions: [
      'what did the doctor say about my health',
      'which medication do I take',
      'symptoms of my illness',
    ],
  },
  finance: {
    things: [
      'the mortgage rate',
      'my pension savings',
      'the quarterly tax return',
      'index fund shares',
      'the credit card bill',
      'a household budget',
    ],
    questions: ['how much money did I save', 'investments and interest rates', 'when are my taxes due'],
  },
  gardening: {
    things: [
      'the tomato seedlings',
      'rose pruning',
      'compost for the beds',
      'the apple tree',
      'weeds in the lawn',
      'tulip bulbs',
    ],
    questions: [
      'what should I plant in the garden',
      'how to care for flowers and plants',
      'watering the vegetable patch',
    ],
  },
  music: {
    things: [
      'my piano lessons',
      'the guitar chords',
      "Beethoven's sonatas",
      'the jazz concert',
      'a new album',
      'singing in the choir',
    ],
    questions: ['which songs am I practising', 'concerts I want to attend', 'learning to play an instrument'],
  },
  computing: {
    things: [
      'the database migration',
      'a memory leak in the server',
      'the TypeScript compiler',
      'my laptop keyboard',
      'the backup script',
      'a network outage',
    ],
    questions: ['which software bugs did I fix', 'programming and servers', 'problems with my computer'],
  },
};
const TEMPLATES = [
  (x: string) => `I spent the evening reading about ${x}.`,
  (x: string) => `Note to self: ask about ${x} next week.`,
  (x: string) => `Today I finally sorted out ${x}.`,
];

const docs: { text: string; topic: string }[] = [];
const queries: { text: string; topic: string }[] = [];
for (const [topic, { things, questions }] of Object.entries(TOPICS)) {
  for (const template of TEMPLATES) for (const thing of things) docs.push({ text: template(thing), topic });
  for (const question of questions) queries.push({ text: question, topic });
}

const embedder = await createEmbedder(useLiteDir(), { device: 'cpu', threads: 1 });
t.teardown(() => embedder.close());
const docVectors = await embedder.embed(docs.map((d) => d.text));
const queryVectors = await embedder.embed(queries.map((q) => q.text));
const isRelevant = (q: number, doc: number): boolean => queries[q]!.topic === docs[doc]!.topic;
const TOPIC_COUNT = Object.keys(TOPICS).length;

t.test('thief search: topical on clear vectors, chance level on protected ones across tenants', async (t) => {
  const clear = thiefSearch(queryVectors, new VectorTable(docVectors), isRelevant);
  t.equal(clear.chance, 1 / TOPIC_COUNT, 'chance: one topic in eight');
  t.ok(clear.precision > 0.5, `clear column: precision@10 ${clear.precision.toFixed(3)}`);
  for (const noise of [0, 0.25]) {
    const keys = [1, 2, 3, 4].map((id) => vectorKeyOf(experimentDataKey(`thief-${id}`, id)));
    const stored = docVectors.map((x, i) => keys[i % 4]!.protect(x, `doc-${i}`, noise));
    const thief = thiefSearch(queryVectors, new VectorTable(stored), isRelevant);
    // 24 queries x 10 rows at p = 1/8: sd ~0.021; chance + 0.1 is ~5 sd, and far below clear.
    t.ok(
      thief.precision < clear.chance + 0.1,
      `noise ${noise}: protected precision@10 ${thief.precision.toFixed(3)}`,
    );
  }
});

t.test(
  'linkage: the same texts in two tenants are unrelated vectors; within one tenant they stay close',
  async (t) => {
    const a = vectorKeyOf(experimentDataKey('link-a', 1));
    const b = vectorKeyOf(experimentDataKey('link-b', 2));
    const clear = linkage(docVectors, docVectors);
    t.equal(clear.matched, 1, 'clear: every row finds its twin');
    t.ok(clear.meanCosine > 0.999);
    const result = linkage(
      docVectors.map((x, i) => a.protect(x, `a-${i}`, 0.25)),
      docVectors.map((x, i) => b.protect(x, `b-${i}`, 0.25)),
    );
    t.ok(
      result.meanAbsCosine < 0.08,
      `protected: mean |cosine| ${result.meanAbsCosine.toFixed(4)} (unrelated: ~0.035)`,
    );
    t.ok(Math.abs(result.meanCosine) < 0.03, `protected: mean cosine ${result.meanCosine.toFixed(4)}`);
    // 144 rows: a random pick finds the twin 1 time in 144.
    t.ok(result.matched < 0.05, `protected: ${(result.matched * 100).toFixed(1)}% of rows find their twin`);
    const within = cosine(a.protect(docVectors[0]!, 'row-1', 0.25), a.protect(docVectors[0]!, 'row-2', 0.25));
    t.ok(
      within > 0.85,
      `same tenant, two rows of one text: cosine ${within.toFixed(3)} (linkable, by design)`,
    );
  },
);

t.test(
  'known plaintext: Procrustes and least squares recover a tenant from known pairs, up to the noise',
  async (t) => {
    const key = vectorKeyOf(experimentDataKey('known', 1));
    const bound = (noise: number): number => 1 / Math.sqrt(1 + noise * noise);
    const results: Record<string, number> = {};
    for (const noise of [0, 0.5]) {
      const stored = docVectors.map((x, i) => key.protect(x, `doc-${i}`, noise));
      for (const known of [4, 64]) {
        const r = knownPlaintext(docVectors, stored, known, 'procrustes');
        results[`${noise}/${known}`] = r.meanCosine;
        t.ok(
          r.meanCosine <= bound(noise) + 0.02,
          `noise ${noise}, m=${known}: cosine ${r.meanCosine.toFixed(3)}`,
        );
      }
      const ls = knownPlaintext(docVectors, stored, 64, 'least-squares');
      t.ok(ls.meanCosine > 0.3, `least squares, noise ${noise}, m=64: cosine ${ls.meanCosine.toFixed(3)}`);
    }
    // The attack works (this is not semantic security): with 64 pairs and no noise, most rows are
    // recovered closely enough to name their text; more pairs help, and noise caps what they give.
    t.ok(results['0/64']! > 0.7, `no noise, m=64: cosine ${results['0/64']!.toFixed(3)}`);
    t.ok(results['0/64']! > results['0/4']! + 0.1, 'more known pairs recover more');
    const guess = knownPlaintext(
      docVectors,
      docVectors.map((x) => key.rotate(x)),
      64,
    ).guessCosine;
    t.ok(results['0/64']! > guess + 0.1, `recovery beats the mean-embedding guess (${guess.toFixed(3)})`);
    t.ok(results['0.5/64']! < results['0/64']!, 'noise lowers the recovery');
    const named = knownPlaintext(
      docVectors,
      docVectors.map((x) => key.rotate(x)),
      64,
      'procrustes',
    );
    t.ok(
      named.identified > 0.5,
      `no noise, m=64: ${(named.identified * 100).toFixed(0)}% of other rows named`,
    );
    t.throws(() => knownPlaintext(docVectors, docVectors, 0), RangeError);
  },
);

t.test('exact re-scoring of an over-fetched candidate set restores recall lost to noise', async (t) => {
  const key = vectorKeyOf(experimentDataKey('recall', 1));
  const noise = 0.5;
  const clear = new VectorTable(docVectors);
  const stored = new VectorTable(docVectors.map((x, i) => key.protect(x, `doc-${i}`, noise)));
  const qs = queryVectors.map((q) => ({ clear: q, stored: key.rotate(q) }));
  const alone = rescoredRecall(qs, clear, stored, 10, 1);
  const rescored = rescoredRecall(qs, clear, stored, 10, 4);
  t.ok(
    rescored >= alone,
    `recall@10: ${alone.toFixed(3)} protected order, ${rescored.toFixed(3)} after 4x re-scoring`,
  );
  t.ok(rescored > 0.9, 'over-fetch 4x then exact re-scoring finds (nearly) every true neighbour');
  const plain = queryVectors.map((q) => ({ clear: q, stored: q }));
  t.equal(rescoredRecall(plain, clear, clear, 10, 1), 1, 'on clear vectors recall is 1 by definition');
});

t.test('runVectorAttacks reports clear first, then each noise size', async (t) => {
  const rows = runVectorAttacks(
    { docs: docVectors, queries: queryVectors, isRelevant },
    { tenants: 4, noises: [0.25], known: [16], factors: [1, 4], linked: 40 },
  );
  t.same(
    rows.map((r) => [r.vectors, r.noise]),
    [
      ['clear', 0],
      ['protected', 0.25],
    ],
  );
  const [clear, prot] = rows as [(typeof rows)[0], (typeof rows)[0]];
  t.ok(clear.thief!.precision > prot.thief!.precision + 0.3, 'thief: clear far above protected');
  t.equal(clear.overlap.overlap, 1);
  t.ok(prot.overlap.overlap < 0.2, `overlap@10 on protected: ${prot.overlap.overlap.toFixed(3)}`);
  t.equal(clear.linkage.matched, 1);
  t.ok(prot.linkage.matched <= 0.2, `linked twins matched: ${prot.linkage.matched}`);
  t.equal(clear.knownPlaintext.length, 0, 'no fit for clear vectors: they are the embeddings');
  t.equal(prot.knownPlaintext[0]!.known, 16);
  t.ok(prot.recall['4']! >= prot.recall['1']!);
});
