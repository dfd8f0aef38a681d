/**
 * Vector keys: the per-tenant keyed transform that protects the embeddings the database searches.
 *
 * The database needs a vector per chunk to search, and the plain embedding would let anyone who
 * holds a dump and the public embedding model search every tenant's memories (or invert them back
 * to text). So the daemon stores, and searches with, `protect(x)` instead of `x`:
 *
 *     protect(x) = s · (R·x + ‖x‖·ν)
 *
 * - R, a secret rotation (orthogonal, so inner products and cosines are preserved exactly): three
 *   rounds of random signs, a random permutation and a normalised fast Walsh–Hadamard transform
 *   (a structured random orthogonal matrix, O(d log d); it measured ~50x faster than a dense
 *   seeded orthogonal matrix at d = 512, docs/CRYPTO.md). Dimensions that are not a power of two
 *   keep their size: each round transforms two overlapping power-of-two blocks, [0, b) and
 *   [d − b, d), each step orthogonal, so the whole map is too and the stored column keeps its type.
 * - ν, scale-and-perturb noise (Fuchsbauer, Ghosal, Hauke, O'Neill, SCN 2022, "approximate
 *   distance-comparison-preserving encryption"): uniform in the ball of radius `noise` (relative to
 *   ‖x‖, since memvault searches by cosine). In their β notation, noise = β/4: comparisons between
 *   unit vectors whose distances differ by more than 4·noise keep their order. The noise of a
 *   stored row is keyed by a context (the chunk id), so the transform is a pure function of
 *   (key, vector, context): re-running a migration writes the same vector.
 * - s ∈ [1, 2), a secret scale (the "scale" of scale-and-perturb; under cosine distance it hides
 *   only the norm).
 *
 * The key is derived from the tenant's data key with HKDF-SHA256 under its own label, like the
 * term key: nothing new is stored, two tenants' spaces are unrelated, and destroying or replacing
 * the data key (forget, `reseal --tenant`) cuts the stored vectors loose from any embedding.
 *
 * This is not semantic security: within a tenant, nearness is preserved on purpose, and whoever
 * learns enough (embedding, row) pairs of one tenant can fit R by least squares. docs/CRYPTO.md
 * gives the measured attack figures.
 */
import { createCipheriv, createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';

import { type DataKey, dataKeyMaterial } from './data-key.js';

/** HKDF `info` for vector keys; a new derivation needs a new label (and a reindex of the vectors). */
export const VECTOR_KEY_LABEL = 'memvault/vector-key/v1';

/** Rounds of signs · permutation · Hadamard. Three is the usual choice for a near-Haar rotation. */
const ROUNDS = 3;

/** One round of the rotation for one dimension: x ← H_blocks(P(D·x)). */
interface Round {
  signs: Float64Array;
  /** out[i] = in[perm[i]] */
  perm: Uint32Array;
}

interface Rotation {
  dimension: number;
  /** Largest power of two ≤ dimension: the Hadamard block size. */
  block: number;
  rounds: Round[];
  scale: number;
}

const ZEROS = Buffer.alloc(4096);

/** A deterministic stream of uniform numbers from AES-256-CTR under a key and a 16-byte IV. */
class KeyStream {
  readonly #cipher;
  readonly #zeros: Buffer;
  #bytes = Buffer.alloc(0);
  #next = 0;

  /** `chunk`: bytes drawn per cipher call (a noise draw needs about 4·d; a rotation more). */
  constructor(key: KeyObject, iv: Uint8Array, chunk = ZEROS.length) {
    this.#cipher = createCipheriv('aes-256-ctr', key, iv);
    this.#zeros = ZEROS.subarray(0, Math.min(ZEROS.length, Math.ceil(chunk / 16) * 16));
  }

  /** A uniform 32-bit unsigned integer (little-endian words: the same on every host). */
  word(): number {
    if (this.#next === this.#bytes.length) {
      this.#bytes = this.#cipher.update(this.#zeros);
      this.#next = 0;
    }
    const w = this.#bytes.readUInt32LE(this.#next);
    this.#next += 4;
    return w;
  }

  /** Uniform in (0, 1]: never 0, so log() is finite. */
  unit(): number {
    return (this.word() + 1) / 4294967296;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling), for n ≤ 2^32. */
  below(n: number): number {
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const w = this.word();
      if (w < limit) return w % n;
    }
  }
}

function largestPowerOfTwoAtMost(n: number): number {
  let b = 1;
  while (b * 2 <= n) b *= 2;
  return b;
}

/** In-place normalised fast Walsh–Hadamard transform of v[offset, offset + n), n a power of two. */
function hadamard(v: Float64Array, offset: number, n: number): void {
  for (let h = 1; h < n; h *= 2) {
    for (let i = offset; i < offset + n; i += h * 2) {
      for (let j = i; j < i + h; j++) {
        const a = v[j]!;
        const b = v[j + h]!;
        v[j] = a + b;
        v[j + h] = a - b;
      }
    }
  }
  const norm = 1 / Math.sqrt(n);
  for (let i = offset; i < offset + n; i++) v[i]! *= norm;
}

function rotationFor(key: KeyObject, dimension: number): Rotation {
  // The IV names the dimension, so the rotations of two dimensions are independent streams.
  const iv = Buffer.alloc(16);
  iv.write('rotation', 0, 'latin1');
  iv.writeUInt32BE(dimension, 12);
  const stream = new KeyStream(key, iv);
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const signs = new Float64Array(dimension);
    for (let i = 0; i < dimension; i++) signs[i] = stream.word() & 1 ? -1 : 1;
    const perm = new Uint32Array(dimension);
    for (let i = 0; i < dimension; i++) perm[i] = i;
    for (let i = dimension - 1; i > 0; i--) {
      const j = stream.below(i + 1);
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
    rounds.push({ signs, perm });
  }
  return { dimension, block: largestPowerOfTwoAtMost(dimension), rounds, scale: 1 + stream.unit() };
}

function applyRotation(rotation: Rotation, x: ArrayLike<number>): Float64Array {
  const { dimension: d, block: b } = rotation;
  let v = Float64Array.from(x);
  let scratch = new Float64Array(d);
  for (const { signs, perm } of rotation.rounds) {
    for (let i = 0; i < d; i++) scratch[perm[i]!] = v[i]! * signs[i]!;
    [v, scratch] = [scratch, v];
    hadamard(v, 0, b);
    if (b < d) hadamard(v, d - b, b);
  }
  return v;
}

/** A point uniform in the d-ball of the given radius, from the stream (Gaussian direction). */
function ballPoint(stream: KeyStream, d: number, radius: number): Float64Array {
  const g = new Float64Array(d);
  for (let i = 0; i < d; i += 2) {
    // Box–Muller: two independent standard normals from two uniforms.
    const rho = Math.sqrt(-2 * Math.log(stream.unit()));
    const theta = 2 * Math.PI * stream.unit();
    g[i] = rho * Math.cos(theta);
    if (i + 1 < d) g[i + 1] = rho * Math.sin(theta);
  }
  let norm = 0;
  for (let i = 0; i < d; i++) norm += g[i]! * g[i]!;
  const r = (radius * Math.pow(stream.unit(), 1 / d)) / Math.sqrt(norm);
  for (let i = 0; i < d; i++) g[i]! *= r;
  return g;
}

function assertVector(x: ArrayLike<number>): void {
  if (x.length < 1) throw new RangeError('vector must have at least one dimension');
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new RangeError('vector components must be finite numbers');
  }
}

/** The noise size must be a finite number ≥ 0 (0: rotation and scale only). */
export function assertNoise(noise: number): void {
  if (!(Number.isFinite(noise) && noise >= 0)) throw new RangeError('noise must be a finite number >= 0');
}

export class VectorKey {
  /** The id of the data key this vector key comes from (a row's vectors are bound to it). */
  readonly dataKeyId: number;
  /** Keys the AES-CTR stream the rotation (signs, permutations) and the scale are drawn from. */
  readonly #rotationKey: KeyObject;
  /** HMAC key: context → the IV of a row's noise stream. */
  readonly #noiseSeedKey: KeyObject;
  /** Keys the AES-CTR noise streams. */
  readonly #noiseKey: KeyObject;
  /** Rotations per dimension, drawn once (a tenant normally has one dimension). */
  readonly #rotations = new Map<number, Rotation>();

  private constructor(
    dataKeyId: number,
    rotationKey: KeyObject,
    noiseSeedKey: KeyObject,
    noiseKey: KeyObject,
  ) {
    this.dataKeyId = dataKeyId;
    this.#rotationKey = rotationKey;
    this.#noiseSeedKey = noiseSeedKey;
    this.#noiseKey = noiseKey;
  }

  static fromDataKey(dek: DataKey): VectorKey {
    const bytes = Buffer.from(
      hkdfSync('sha256', dataKeyMaterial(dek), Buffer.alloc(0), VECTOR_KEY_LABEL, 96),
    );
    try {
      return new VectorKey(
        dek.id,
        createSecretKey(bytes.subarray(0, 32)),
        createSecretKey(bytes.subarray(32, 64)),
        createSecretKey(bytes.subarray(64, 96)),
      );
    } finally {
      bytes.fill(0);
    }
  }

  #rotation(dimension: number): Rotation {
    let rotation = this.#rotations.get(dimension);
    if (!rotation) {
      rotation = rotationFor(this.#rotationKey, dimension);
      this.#rotations.set(dimension, rotation);
    }
    return rotation;
  }

  /** s·R·x: the keyed rotation and scale without noise (what a query is compared against). */
  rotate(x: ArrayLike<number>): Float32Array {
    assertVector(x);
    const rotation = this.#rotation(x.length);
    const v = applyRotation(rotation, x);
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = rotation.scale * v[i]!;
    return out;
  }

  /**
   * s·(R·x + ‖x‖·ν), ν uniform in the ball of radius `noise`, drawn from a stream keyed by
   * `context` (a row's chunk id; a fresh random value for a query): the same (key, x, context)
   * always gives the same vector, two contexts give independent noise.
   */
  protect(x: ArrayLike<number>, context: string | Uint8Array, noise: number): Float32Array {
    assertVector(x);
    assertNoise(noise);
    const rotation = this.#rotation(x.length);
    const v = applyRotation(rotation, x);
    if (noise > 0) {
      let norm = 0;
      for (let i = 0; i < x.length; i++) norm += x[i]! * x[i]!;
      const iv = createHmac('sha256', this.#noiseSeedKey).update(context).digest().subarray(0, 16);
      const stream = new KeyStream(this.#noiseKey, iv, 4 * (v.length + 2));
      const nu = ballPoint(stream, v.length, noise * Math.sqrt(norm));
      for (let i = 0; i < v.length; i++) v[i]! += nu[i]!;
    }
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = rotation.scale * v[i]!;
    return out;
  }

  toJSON(): { dataKeyId: number } {
    return { dataKeyId: this.dataKeyId };
  }

  [inspect.custom](): string {
    return `VectorKey { dataKeyId: ${this.dataKeyId} }`;
  }
}

const derived = new WeakMap<DataKey, VectorKey>();

/** The vector key of a data key, derived once per DataKey object (the key stores cache those). */
export function vectorKeyOf(dek: DataKey): VectorKey {
  let key = derived.get(dek);
  if (!key) {
    key = VectorKey.fromDataKey(dek);
    derived.set(dek, key);
  }
  return key;
}
