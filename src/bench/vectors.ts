/**
 * Vectors suite: what a reader of the database learns from the stored vector column, clear vs
 * protected by the per-tenant keyed transform (src/crypto/vector-key.ts), for several noise sizes,
 * and what each noise size costs search (recall@10 after over-fetch and exact re-scoring). The
 * attacks are src/bench/vector-attacks.ts; this file chooses the corpus and prints the tables.
 *
 * Corpus: with `--dataset <BEIR folder>` (e.g. SciFact), its documents and queries embedded with the
 * bundled USE-lite model, relevance from its qrels; without, the synthetic topic-clustered vectors
 * of the database suites (relevance: same topic). Everything runs in this process; no database.
 *
 * Run: memvault bench vectors [--quick] [--dataset <dir>] [--docs N] [--queries N] [--tenants N]
 *      [--noise 0,0.25,0.5] [--known 16,64,256] [--factors 1,2,4,8]
 */
import { Matrix, QrDecomposition } from 'ml-matrix';

import { vectorKeyOf } from '../crypto/index.js';
import { loadBeir } from '../eval/beir.js';
import { topicCentres } from './corpus.js';
import { type Metric, type Table } from './result.js';
import { gaussian, median, seededRandom } from './stats.js';
import { buildResult, intOption, type Suite, type SuiteContext } from './suite.js';
import {
  type AttackCorpus,
  type AttackRow,
  experimentDataKey,
  type FitMethod,
  runVectorAttacks,
  type Vector,
} from './vector-attacks.js';

export const suite: Suite = {
  name: 'vectors',
  options: ['dataset', 'docs', 'queries', 'tenants', 'noise', 'known', 'factors', 'seed'],
  summary:
    'attacks on the stored vector column (thief search, linkage, known plaintext), clear vs protected, and the recall cost of the noise',
  run: runVectors,
};

function numberList(ctx: SuiteContext, name: string, fallback: number[]): number[] {
  const raw = ctx.options[name];
  if (raw === undefined) return fallback;
  const values = raw.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v < 0)) {
    throw new Error(`--${name} must be a comma-separated list of numbers >= 0`);
  }
  return values;
}

async function datasetCorpus(
  dir: string,
  docLimit: number,
  queryLimit: number,
  ctx: SuiteContext,
): Promise<{ corpus: AttackCorpus; label: string; dimension: number }> {
  const { createEmbedder } = await import('../embed/index.js');
  const { bundledModelDir } = await import('../models/repo-paths.js');
  const data = await loadBeir(dir);
  const queries = data.queries.slice(0, queryLimit);
  // Keep every relevant document of the chosen queries, then fill up to the limit in corpus order,
  // so precision@10 has something to find.
  const wanted = new Set(
    queries.flatMap((q) =>
      [...(data.qrels.get(q.id)?.entries() ?? [])].filter(([, g]) => g > 0).map(([d]) => d),
    ),
  );
  const docs = [
    ...data.docs.filter((d) => wanted.has(d.id)),
    ...data.docs.filter((d) => !wanted.has(d.id)),
  ].slice(0, Math.max(docLimit, wanted.size));
  const model = bundledModelDir('universal-sentence-encoder-lite');
  if (!model) throw new Error('models/universal-sentence-encoder-lite is missing');
  const embedder = await createEmbedder(model);
  try {
    const embedAll = async (texts: string[], what: string): Promise<Vector[]> => {
      const out: Vector[] = [];
      for (let i = 0; i < texts.length; i += 256) {
        out.push(...(await embedder.embed(texts.slice(i, i + 256))));
        ctx.progress.tick(Math.min(i + 256, texts.length), texts.length, `embedding ${what}`);
      }
      return out;
    };
    const docVectors = await embedAll(
      docs.map((d) => d.text),
      'documents',
    );
    const queryVectors = await embedAll(
      queries.map((q) => q.text),
      'queries',
    );
    const docIndex = docs.map((d) => d.id);
    const isRelevant = (q: number, doc: number): boolean =>
      (data.qrels.get(queries[q]!.id)?.get(docIndex[doc]!) ?? 0) > 0;
    return {
      corpus: { docs: docVectors, queries: queryVectors, isRelevant },
      label: `${dir} (${docs.length} docs, ${queries.length} queries, USE-lite)`,
      dimension: embedder.dimension,
    };
  } finally {
    await embedder.close();
  }
}

/** Synthetic clustered vectors (the database suites' corpus model): 64 topics, relevance = same topic. */
function syntheticCorpus(
  docLimit: number,
  queryLimit: number,
  seed: number,
): { corpus: AttackCorpus; label: string; dimension: number } {
  const dimension = 384;
  const centres = topicCentres(dimension, seed);
  const random = seededRandom(seed * 31 + 5);
  const point = (topic: number): Vector => {
    const centre = centres[topic]!;
    const sigma = 1 / Math.sqrt(dimension);
    const v = Float32Array.from(centre, (c) => c + sigma * gaussian(random));
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const docTopics = Array.from({ length: docLimit }, () => Math.floor(random() * centres.length));
  const queryTopics = Array.from({ length: queryLimit }, () => Math.floor(random() * centres.length));
  return {
    corpus: {
      docs: docTopics.map(point),
      queries: queryTopics.map(point),
      isRelevant: (q, doc) => queryTopics[q] === docTopics[doc],
    },
    label: `synthetic: ${docLimit} docs, ${queryLimit} queries, ${centres.length} topics, ${dimension}-d`,
    dimension,
  };
}

const f3 = (v: number): string => v.toFixed(3);
/** Chance levels can be tiny (one relevant document in 5,000): keep two significant digits. */
const small = (v: number): string => (v >= 0.01 || v === 0 ? v.toFixed(3) : v.toPrecision(2));
const name = (row: AttackRow): string =>
  row.vectors === 'clear' ? 'clear' : `protected, noise ${row.noise}`;

function tables(rows: AttackRow[], factors: number[]): Table[] {
  const out: Table[] = [];
  out.push({
    title: "Thief's search across tenants (public embedder, raw column) and linkage",
    header: [
      'vectors',
      'precision@10',
      'chance',
      'overlap@10 w/ clear',
      'chance',
      'twin cos',
      '|cos|',
      'twin found',
      'chance',
      'same-tenant copy cos',
    ],
    rows: rows.map((r) => [
      name(r),
      r.thief ? f3(r.thief.precision) : '-',
      r.thief ? small(r.thief.chance) : '-',
      f3(r.overlap.overlap),
      small(r.overlap.chance),
      f3(r.linkage.meanCosine),
      f3(r.linkage.meanAbsCosine),
      f3(r.linkage.matched),
      small(r.linkage.chance),
      f3(r.sameTenantCosine),
    ]),
    note: 'twin: the same text stored by a second tenant; same-tenant copy: stored twice by one tenant (two rows, two noise draws)',
  });
  const kp = rows.filter((r) => r.vectors === 'protected');
  out.push({
    title:
      'Known plaintext: fit the transform from m (embedding, row) pairs of one tenant, invert its other rows',
    header: ['noise', 'method', 'm', 'recovered cos', 'mean-guess cos', 'identified', 'chance'],
    rows: [
      ['(clear)', '-', '0', '1.000', '-', '1.000', '-'],
      ...kp.flatMap((r) =>
        r.knownPlaintext.map((k) => [
          String(r.noise),
          k.method,
          String(k.known),
          f3(k.meanCosine),
          f3(k.guessCosine),
          f3(k.identified),
          small(k.chance),
        ]),
      ),
    ],
    note: 'recovered cos: mean cosine of the inverted row with its true embedding; mean-guess cos: the same for the mean embedding (no key, no row); identified: share of rows whose inversion is nearest its own text among the held-out texts',
  });
  out.push({
    title: 'Cost: recall@10 within one tenant after over-fetching k x factor and re-scoring exactly',
    header: ['vectors', ...factors.map((f) => `x${f}`)],
    rows: rows.map((r) => [name(r), ...factors.map((f) => f3(r.recall[String(f)]!))]),
    note: 'x1 = the protected ranking alone; brute-force search over the tenant (no HNSW, no halfvec rounding)',
  });
  return out;
}

interface TransformCost {
  /** Median µs per vector over rounds. */
  structuredRotateUs: number;
  structuredProtectUs: number;
  denseRotateUs: number;
  /** One-off per tenant key: drawing the rotation (structured) or a QR of a Gaussian matrix (dense). */
  structuredSetupMs: number;
  denseSetupMs: number;
}

/**
 * What the structured rotation costs next to the alternative the issue named, a seeded dense
 * orthogonal matrix (QR of a Gaussian matrix, then a d×d product per vector), in the same process.
 */
function transformCost(dimension: number, rounds: number): TransformCost {
  const random = seededRandom(99);
  const vectors = Array.from({ length: 200 }, () =>
    Float32Array.from({ length: dimension }, () => gaussian(random)),
  );
  let started = performance.now();
  const key = vectorKeyOf(experimentDataKey('cost'));
  key.rotate(vectors[0]!);
  const structuredSetupMs = performance.now() - started;
  started = performance.now();
  const gaussianMatrix = Matrix.zeros(dimension, dimension);
  for (let i = 0; i < dimension; i++) {
    for (let j = 0; j < dimension; j++) gaussianMatrix.set(i, j, gaussian(random));
  }
  const dense = Float64Array.from(new QrDecomposition(gaussianMatrix).orthogonalMatrix.to1DArray());
  const denseSetupMs = performance.now() - started;
  const denseRotate = (x: Float32Array): Float32Array => {
    const out = new Float32Array(dimension);
    for (let i = 0; i < dimension; i++) {
      let sum = 0;
      const row = i * dimension;
      for (let j = 0; j < dimension; j++) sum += dense[row + j]! * x[j]!;
      out[i] = sum;
    }
    return out;
  };
  const perVector = (op: (x: Float32Array, i: number) => unknown): number => {
    const t0 = performance.now();
    vectors.forEach(op);
    return ((performance.now() - t0) * 1000) / vectors.length;
  };
  const times = { rotate: [] as number[], protect: [] as number[], dense: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    times.rotate.push(perVector((x) => key.rotate(x)));
    times.protect.push(perVector((x, i) => key.protect(x, `row-${i}`, 0.25)));
    times.dense.push(perVector(denseRotate));
  }
  return {
    structuredRotateUs: median(times.rotate),
    structuredProtectUs: median(times.protect),
    denseRotateUs: median(times.dense),
    structuredSetupMs,
    denseSetupMs,
  };
}

function costTable(dimension: number, cost: TransformCost): Table {
  return {
    title: `Transform cost per vector, ${dimension}-d (median of rounds; setup once per tenant key)`,
    header: ['transform', 'us / vector', 'setup ms'],
    rows: [
      [
        'structured rotation (signs, permutation, Walsh-Hadamard x3)',
        cost.structuredRotateUs.toFixed(1),
        cost.structuredSetupMs.toFixed(1),
      ],
      ['  + scale-and-perturb noise 0.25 (protect)', cost.structuredProtectUs.toFixed(1), '-'],
      [
        'dense seeded orthogonal matrix (QR of a Gaussian)',
        cost.denseRotateUs.toFixed(1),
        cost.denseSetupMs.toFixed(0),
      ],
    ],
  };
}

function metrics(rows: AttackRow[], factors: number[]): Metric[] {
  const out: Metric[] = [];
  for (const r of rows) {
    const tag = r.vectors === 'clear' ? 'clear' : `noise_${r.noise}`;
    if (r.thief)
      out.push({ name: `thief_precision10_${tag}`, value: r.thief.precision, unit: '', better: 'lower' });
    out.push({ name: `linkage_twin_found_${tag}`, value: r.linkage.matched, unit: '', better: 'lower' });
    for (const k of r.knownPlaintext) {
      out.push({
        name: `known_plaintext_cos_${k.method}_m${k.known}_${tag}`,
        value: k.meanCosine,
        unit: '',
        better: 'lower',
      });
    }
    for (const f of factors) {
      out.push({
        name: `recall10_rescored_x${f}_${tag}`,
        value: r.recall[String(f)]!,
        unit: '',
        better: 'higher',
      });
    }
  }
  return out;
}

async function runVectors(ctx: SuiteContext) {
  const startedAt = new Date();
  const seed = intOption(ctx, 'seed', 1, 0);
  const docLimit = intOption(ctx, 'docs', ctx.quick ? 1_000 : 5_000, 50);
  const queryLimit = intOption(ctx, 'queries', ctx.quick ? 50 : 300, 1);
  const tenants = intOption(ctx, 'tenants', 4, 2, 1_000);
  const noises = numberList(ctx, 'noise', ctx.quick ? [0, 0.25, 0.5] : [0, 0.1, 0.25, 0.5, 1]);
  const known = numberList(ctx, 'known', ctx.quick ? [16, 64] : [16, 64, 256, 1024]).map(Math.round);
  const factors = numberList(ctx, 'factors', [1, 2, 4, 8]);
  const dataset = ctx.options.dataset;
  ctx.progress.stage(dataset ? `embedding ${dataset}` : 'building the synthetic corpus');
  const { corpus, label, dimension } = dataset
    ? await datasetCorpus(dataset, docLimit, queryLimit, ctx)
    : syntheticCorpus(docLimit, queryLimit, seed);
  const tenantRows = Math.ceil(corpus.docs.length / tenants);
  const usableKnown = known.filter((m) => m >= 1 && m < tenantRows);
  const methods: FitMethod[] = ['procrustes', 'least-squares'];
  ctx.progress.stage(`attacks on clear and protected vectors (noise ${noises.join(', ')})`);
  const rows = runVectorAttacks(corpus, {
    tenants,
    noises,
    known: usableKnown,
    methods,
    factors,
    linked: Math.min(500, tenantRows),
    queryNoise: false,
    onStage: (message) => ctx.progress.stage(message),
  });
  ctx.progress.stage('transform cost: structured rotation vs a dense seeded orthogonal matrix');
  const cost = transformCost(dimension, ctx.quick ? 3 : 9);
  return buildResult('vectors', ctx, startedAt, {
    settings: {
      corpus: label,
      dimension,
      tenants,
      noises,
      known: usableKnown,
      methods,
      factors,
      seed,
      queryNoise: false,
    },
    metrics: [
      ...metrics(rows, factors),
      { name: 'protect_us_per_vector', value: cost.structuredProtectUs, unit: 'us', better: 'lower' },
      {
        name: 'rotation_speedup_vs_dense',
        value: cost.denseRotateUs / cost.structuredRotateUs,
        unit: 'x',
        better: 'higher',
      },
    ],
    tables: [...tables(rows, factors), costTable(dimension, cost)],
  });
}
