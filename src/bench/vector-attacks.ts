/**
 * Attacks on the stored vector column, as a reader of the database would run them, each measured
 * on the protected vectors (src/crypto/vector-key.ts) next to the same figure on clear vectors:
 *
 * - thief's semantic search: embed queries with the public model and search the raw column of
 *   every tenant at once; precision@10 (against qrels or topic labels) and overlap@10 with what
 *   the same search returns on clear vectors, each next to its chance level;
 * - linkage: the same text stored by two tenants; the cosine between the two stored vectors and
 *   whether each row's nearest row in the other tenant is its twin;
 * - known plaintext: given m (embedding, stored row) pairs of one tenant, fit the transform by
 *   orthogonal Procrustes or least squares and invert the tenant's other rows; how close the
 *   recovered embeddings come (cosine), and how often one picks out its own text among the rest;
 * - and what the noise costs search: recall@10 of a protected search that over-fetches k·factor
 *   candidates and re-scores them exactly (what the daemon does with the sealed vectors).
 *
 * Pure functions over vectors, shared by test/bench/vector-attacks.test.ts and `memvault bench
 * vectors`. The linear algebra uses ml-matrix; sizes stay small enough (m ≤ a few hundred, or one
 * d×d SVD) for a laptop.
 */
import { createHash } from 'node:crypto';

import { Matrix, QrDecomposition, SingularValueDecomposition, solve } from 'ml-matrix';

import { DataKey, vectorKeyOf } from '../crypto/index.js';

export type Vector = Float32Array;

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.sqrt(dot(a, a) * dot(b, b));
  return n === 0 ? 0 : dot(a, b) / n;
}

const mean = (values: readonly number[]): number =>
  values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;

/** Rows normalised to unit length in one flat array: a cosine scan is then one dot product per row. */
export class VectorTable {
  readonly rows: number;
  readonly dimension: number;
  readonly #data: Float32Array;

  constructor(vectors: readonly ArrayLike<number>[]) {
    this.rows = vectors.length;
    this.dimension = vectors[0]?.length ?? 0;
    this.#data = new Float32Array(this.rows * this.dimension);
    vectors.forEach((v, r) => {
      const n = Math.sqrt(dot(v, v)) || 1;
      for (let i = 0; i < this.dimension; i++) this.#data[r * this.dimension + i] = v[i]! / n;
    });
  }

  /** Cosine of the query with every row. */
  scores(query: ArrayLike<number>): Float64Array {
    const d = this.dimension;
    const q = Float64Array.from(query);
    const qn = Math.sqrt(dot(q, q)) || 1;
    const out = new Float64Array(this.rows);
    for (let r = 0; r < this.rows; r++) {
      let s = 0;
      const o = r * d;
      for (let i = 0; i < d; i++) s += this.#data[o + i]! * q[i]!;
      out[r] = s / qn;
    }
    return out;
  }

  /** Indices of the k rows nearest the query by cosine, nearest first (ties: lower index). */
  topK(query: ArrayLike<number>, k: number, among?: readonly number[]): number[] {
    const scores = this.scores(query);
    const ids = among ? [...among] : Array.from({ length: this.rows }, (_, i) => i);
    return ids.sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, k);
  }
}

export interface ThiefResult {
  /** Mean over queries of the share of the thief's top k that is relevant. */
  precision: number;
  /** The same for k rows drawn at random: the mean share of relevant rows in the column. */
  chance: number;
}

/**
 * The thief's semantic search: rank every stored row (all tenants) by cosine with each query's
 * public embedding and count relevant rows in the top k.
 */
export function thiefSearch(
  queries: readonly Vector[],
  stored: VectorTable,
  isRelevant: (query: number, row: number) => boolean,
  k = 10,
): ThiefResult {
  const precision: number[] = [];
  const chance: number[] = [];
  queries.forEach((q, qi) => {
    const top = stored.topK(q, k);
    precision.push(top.filter((row) => isRelevant(qi, row)).length / k);
    let relevant = 0;
    for (let row = 0; row < stored.rows; row++) if (isRelevant(qi, row)) relevant++;
    chance.push(relevant / stored.rows);
  });
  return { precision: mean(precision), chance: mean(chance) };
}

/**
 * Overlap@k of the thief's top k on the stored column with the top k the same search finds on the
 * clear column (1 on clear vectors by construction; k/n at chance). Needs no relevance labels.
 */
export function neighbourOverlap(
  queries: readonly Vector[],
  clear: VectorTable,
  stored: VectorTable,
  k = 10,
): { overlap: number; chance: number } {
  const overlap = queries.map((q) => {
    const truth = new Set(clear.topK(q, k));
    return stored.topK(q, k).filter((row) => truth.has(row)).length / k;
  });
  return { overlap: mean(overlap), chance: k / stored.rows };
}

export interface LinkageResult {
  /** Mean cosine between the two stored vectors of one text (1 on clear vectors). */
  meanCosine: number;
  /** Mean |cosine|: about sqrt(2/(π·d)) for unrelated directions. */
  meanAbsCosine: number;
  /** Share of rows whose nearest row in the other tenant is their twin. */
  matched: number;
  /** 1/n: a random pick. */
  chance: number;
}

/** Linkage between two stored columns where a[i] and b[i] hold the same text. */
export function linkage(a: readonly Vector[], b: readonly Vector[]): LinkageResult {
  const cosines = a.map((v, i) => cosine(v, b[i]!));
  const table = new VectorTable(b);
  const matched = a.filter((v, i) => table.topK(v, 1)[0] === i).length / a.length;
  return {
    meanCosine: mean(cosines),
    meanAbsCosine: mean(cosines.map(Math.abs)),
    matched,
    chance: 1 / a.length,
  };
}

export type FitMethod = 'procrustes' | 'least-squares';

export interface KnownPlaintextResult {
  method: FitMethod;
  /** m: known (embedding, stored row) pairs. */
  known: number;
  /** Held-out rows the fitted inverse was applied to. */
  heldOut: number;
  /** Mean cosine between a recovered embedding and the true one (1: exact recovery). */
  meanCosine: number;
  /**
   * The same for a guess that needs no key and no row: the mean embedding of the held-out texts.
   * Embeddings share a large common direction, so this is far above 0; recovery is what exceeds it.
   */
  guessCosine: number;
  /** Share of held-out rows whose recovered embedding is nearest its own text among all held-out texts. */
  identified: number;
  chance: number;
}

function toMatrix(rows: readonly ArrayLike<number>[]): Matrix {
  return new Matrix(rows.map((r) => Array.from(r)));
}

/**
 * A map from stored vectors back to embeddings, fitted on known pairs.
 * - procrustes: the orthogonal R̂ closest to the pairs (SVD of Yᵀ·X). With m < d pairs it is
 *   determined only on their span, so the fit is done there: Yᵀ = Q_Y·R_Y, Xᵀ = Q_X·R_X, and the
 *   SVD of the m×m R_Y·R_Xᵀ = A·Σ·Bᵀ gives R̂ᵀ = Q_X·B·Aᵀ·Q_Yᵀ (the minimum-norm choice off it).
 * - least-squares: any linear map, the minimum-norm solution x̂ = Xᵀ·(Y·Yᵀ + λI)⁻¹·Y·y (a tiny
 *   ridge λ keeps the solve stable when stored rows are nearly collinear).
 */
function fitInverse(
  clear: readonly Vector[],
  stored: readonly Vector[],
  method: FitMethod,
): (y: Vector) => number[] {
  const m = clear.length;
  const d = clear[0]!.length;
  const X = toMatrix(clear);
  const Y = toMatrix(stored);
  if (method === 'least-squares') {
    if (m <= d) {
      const gram = Y.mmul(Y.transpose());
      const ridge = 1e-6 * (gram.trace() / m);
      for (let i = 0; i < m; i++) gram.set(i, i, gram.get(i, i) + ridge);
      const back = solve(gram, Y).transpose().mmul(X).transpose(); // d×d: Xᵀ (YYᵀ)⁻¹ Y
      return (y) => back.mmul(Matrix.columnVector(Array.from(y))).to1DArray();
    }
    const gram = Y.transpose().mmul(Y);
    const ridge = 1e-6 * (gram.trace() / d);
    for (let i = 0; i < d; i++) gram.set(i, i, gram.get(i, i) + ridge);
    const back = solve(gram, Y.transpose().mmul(X)).transpose(); // (YᵀY)⁻¹ Yᵀ X, transposed
    return (y) => back.mmul(Matrix.columnVector(Array.from(y))).to1DArray();
  }
  if (m < d) {
    const qy = new QrDecomposition(Y.transpose());
    const qx = new QrDecomposition(X.transpose());
    const small = qy.upperTriangularMatrix.mmul(qx.upperTriangularMatrix.transpose());
    const svd = new SingularValueDecomposition(small);
    const back = qx.orthogonalMatrix
      .mmul(svd.rightSingularVectors)
      .mmul(svd.leftSingularVectors.transpose())
      .mmul(qy.orthogonalMatrix.transpose());
    return (y) => back.mmul(Matrix.columnVector(Array.from(y))).to1DArray();
  }
  const svd = new SingularValueDecomposition(Y.transpose().mmul(X));
  const back = svd.rightSingularVectors.mmul(svd.leftSingularVectors.transpose()); // R̂ᵀ
  return (y) => back.mmul(Matrix.columnVector(Array.from(y))).to1DArray();
}

/**
 * The known-plaintext attack on one tenant: rows [0, known) are the attacker's pairs, the rest are
 * inverted with the fitted map and compared with their true embeddings.
 */
export function knownPlaintext(
  clear: readonly Vector[],
  stored: readonly Vector[],
  known: number,
  method: FitMethod = 'procrustes',
): KnownPlaintextResult {
  if (known < 1 || known >= clear.length) throw new RangeError('known must be from 1 to rows - 1');
  const inverse = fitInverse(clear.slice(0, known), stored.slice(0, known), method);
  const heldOutClear = clear.slice(known);
  const recovered = stored.slice(known).map(inverse);
  const candidates = new VectorTable(heldOutClear);
  const centre = new Float64Array(heldOutClear[0]!.length);
  for (const x of heldOutClear)
    for (let i = 0; i < centre.length; i++) centre[i]! += x[i]! / heldOutClear.length;
  return {
    method,
    known,
    heldOut: heldOutClear.length,
    meanCosine: mean(recovered.map((x, i) => cosine(x, heldOutClear[i]!))),
    guessCosine: mean(heldOutClear.map((x) => cosine(centre, x))),
    identified: recovered.filter((x, i) => candidates.topK(x, 1)[0] === i).length / recovered.length,
    chance: 1 / heldOutClear.length,
  };
}

/**
 * Recall@k of a protected search with exact re-scoring: the k·factor rows nearest the protected
 * query in the protected column, re-ranked by their exact (clear) cosine, against the exact top k.
 * factor 1 is the protected ranking alone.
 */
export function rescoredRecall(
  queries: readonly { clear: Vector; stored: Vector }[],
  clear: VectorTable,
  stored: VectorTable,
  k: number,
  factor: number,
): number {
  const recalls = queries.map((q) => {
    const truth = new Set(clear.topK(q.clear, k));
    const candidates = stored.topK(q.stored, Math.ceil(k * factor));
    const final = clear.topK(q.clear, k, candidates);
    return final.filter((row) => truth.has(row)).length / k;
  });
  return mean(recalls);
}

/** A reproducible tenant data key for experiments: its bytes come from a label, never from a secret. */
export function experimentDataKey(label: string, id = 1): DataKey {
  return DataKey.fromBytes(id, createHash('sha256').update(`memvault/vector-attacks/${label}`).digest());
}

export interface AttackCorpus {
  /** Clear embeddings of the stored texts. */
  docs: readonly Vector[];
  /** Clear embeddings of the thief's queries (the public model). */
  queries: readonly Vector[];
  /** Relevance labels for the thief's precision (qrels, topics); overlap@k is reported without. */
  isRelevant?: (query: number, doc: number) => boolean;
}

export interface AttackOptions {
  /** Docs are dealt round-robin to this many tenants, each with its own key. */
  tenants: number;
  /** Noise sizes to measure (0: rotation and scale only). */
  noises: readonly number[];
  /** m values for the known-plaintext attack (each below tenant 0's row count). */
  known: readonly number[];
  methods?: readonly FitMethod[];
  /** Over-fetch factors for rescoredRecall. */
  factors: readonly number[];
  /** Rows stored by tenant 0 and again by tenant 1 for the linkage attack. */
  linked: number;
  /** Whether a query is perturbed too (with a fresh context) or only rotated. */
  queryNoise?: boolean;
  k?: number;
  /** Told when each column (clear, then each noise size) starts: the fits take seconds. */
  onStage?: (message: string) => void;
}

/** One column of the report: clear vectors, or protected ones with one noise size. */
export interface AttackRow {
  vectors: 'clear' | 'protected';
  noise: number;
  thief?: ThiefResult;
  overlap: { overlap: number; chance: number };
  linkage: LinkageResult;
  /** Cosine of two stored copies of one text in the same tenant (two rows, two noise draws). */
  sameTenantCosine: number;
  knownPlaintext: KnownPlaintextResult[];
  /** factor → recall@k after re-scoring, within tenant 0. */
  recall: Record<string, number>;
}

/** Runs every attack on clear vectors and on protected ones for each noise size. */
export function runVectorAttacks(corpus: AttackCorpus, options: AttackOptions): AttackRow[] {
  const k = options.k ?? 10;
  const tenantOf = (doc: number): number => doc % options.tenants;
  const keys = Array.from({ length: options.tenants }, (_, t) =>
    vectorKeyOf(experimentDataKey(`tenant-${t}`, t + 1)),
  );
  const tenant0 = corpus.docs.map((_, i) => i).filter((i) => tenantOf(i) === 0);
  const linked = tenant0.slice(0, options.linked);
  const clearTable = new VectorTable(corpus.docs);
  const clearTenant0 = tenant0.map((i) => corpus.docs[i]!);
  const clearTenant0Table = new VectorTable(clearTenant0);
  const rows: AttackRow[] = [];

  const measure = (
    vectors: 'clear' | 'protected',
    noise: number,
    store: (doc: number, tenant: number, context: string) => Vector,
    query: (x: Vector, tenant: number, context: string) => Vector,
  ): AttackRow => {
    options.onStage?.(vectors === 'clear' ? 'clear vectors' : `protected vectors, noise ${noise}`);
    const stored = corpus.docs.map((_, i) => store(i, tenantOf(i), `doc-${i}`));
    const storedTable = new VectorTable(stored);
    const storedTenant0 = tenant0.map((i) => stored[i]!);
    const storedTenant0Table = new VectorTable(storedTenant0);
    const twins = linked.map((i) => store(i, 1, `twin-${i}`));
    const sameTenant = linked.map((i) => store(i, 0, `copy-${i}`));
    const recall: Record<string, number> = {};
    const tenantQueries = corpus.queries.map((q, qi) => ({ clear: q, stored: query(q, 0, `query-${qi}`) }));
    for (const factor of options.factors) {
      recall[String(factor)] = rescoredRecall(
        tenantQueries,
        clearTenant0Table,
        storedTenant0Table,
        k,
        factor,
      );
    }
    const knownPairs =
      vectors === 'clear'
        ? [] // no key to fit: the clear column is the embedding itself
        : options.known.flatMap((m) =>
            (options.methods ?? ['procrustes']).map((method) =>
              knownPlaintext(clearTenant0, storedTenant0, m, method),
            ),
          );
    return {
      vectors,
      noise,
      ...(corpus.isRelevant ? { thief: thiefSearch(corpus.queries, storedTable, corpus.isRelevant, k) } : {}),
      overlap: neighbourOverlap(corpus.queries, clearTable, storedTable, k),
      linkage: linkage(
        linked.map((i) => stored[i]!),
        twins,
      ),
      sameTenantCosine: mean(linked.map((i, j) => cosine(stored[i]!, sameTenant[j]!))),
      knownPlaintext: knownPairs,
      recall,
    };
  };

  rows.push(
    measure(
      'clear',
      0,
      (doc) => corpus.docs[doc]!,
      (x) => x,
    ),
  );
  for (const noise of options.noises) {
    rows.push(
      measure(
        'protected',
        noise,
        (doc, tenant, context) => keys[tenant]!.protect(corpus.docs[doc]!, context, noise),
        (x, tenant, context) =>
          options.queryNoise ? keys[tenant]!.protect(x, context, noise) : keys[tenant]!.rotate(x),
      ),
    );
  }
  return rows;
}
