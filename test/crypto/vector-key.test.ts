import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

import t from 'tap';

import {
  DataKey,
  embeddingToBytes,
  VECTOR_KEY_LABEL,
  VectorKey,
  vectorKeyOf,
} from '../../src/crypto/index.js';

/** A seeded uniform generator for test vectors (xorshift32), so failures reproduce. */
function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296 - 0.5;
  };
}

function vector(d: number, next: () => number): Float32Array {
  return Float32Array.from({ length: d }, next);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

const norm = (a: ArrayLike<number>): number => Math.sqrt(dot(a, a));
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => dot(a, b) / (norm(a) * norm(b));

const fixedBytes = Buffer.alloc(32, 7);
const key = vectorKeyOf(DataKey.fromBytes(3, fixedBytes));

t.test(
  'the rotation is orthogonal: a basis maps to an orthonormal set, also for d not a power of two',
  async (t) => {
    for (const d of [1, 2, 7, 64, 96, 384, 512]) {
      const images = Array.from({ length: d }, (_, i) => {
        const e = new Float64Array(d);
        e[i] = 1;
        return key.rotate(e);
      });
      const scale = norm(images[0]!);
      let worst = 0;
      for (let i = 0; i < d; i++) {
        for (let j = i; j < d; j++) {
          const expected = i === j ? 1 : 0;
          worst = Math.max(worst, Math.abs(dot(images[i]!, images[j]!) / (scale * scale) - expected));
        }
      }
      t.ok(worst < 1e-6, `d=${d}: max |<Re_i, Re_j>/s² − δ_ij| = ${worst.toExponential(1)}`);
      t.ok(scale >= 1 && scale < 2, `d=${d}: the scale ${scale.toFixed(3)} is in [1, 2)`);
    }
  },
);

t.test('rotation preserves every inner product up to the one scale factor', async (t) => {
  const next = seeded(11);
  const d = 384;
  const xs = Array.from({ length: 20 }, () => vector(d, next));
  const ys = xs.map((x) => key.rotate(x));
  const s2 = dot(ys[0]!, ys[0]!) / dot(xs[0]!, xs[0]!);
  let worst = 0;
  for (let i = 0; i < xs.length; i++) {
    for (let j = 0; j < xs.length; j++) {
      worst = Math.max(worst, Math.abs(dot(ys[i]!, ys[j]!) / s2 - dot(xs[i]!, xs[j]!)));
    }
  }
  t.ok(worst < 1e-4, `max inner-product error ${worst.toExponential(1)}`);
  t.not(ys[0]![0], xs[0]![0]! * Math.sqrt(s2), 'and it is not the identity');
});

t.test(
  'protect adds noise of the documented size: ‖protect(x) − rotate(x)‖ = s·noise·‖x‖ (uniform in the ball)',
  async (t) => {
    const next = seeded(5);
    const d = 512;
    for (const noise of [0.1, 0.5, 1]) {
      const ratios: number[] = [];
      for (let i = 0; i < 30; i++) {
        const x = vector(d, next);
        const rotated = key.rotate(x);
        const protectedX = key.protect(x, `row-${i}`, noise);
        const diff = protectedX.map((v, k) => v - rotated[k]!);
        ratios.push(norm(diff) / (norm(rotated) * noise));
      }
      // Uniform in a 512-ball: the radius is r·U^(1/512), within 1% of r for all but a tiny fraction.
      t.ok(
        Math.max(...ratios) <= 1 + 1e-5,
        `noise ${noise}: never outside the ball (max ${Math.max(...ratios).toFixed(4)})`,
      );
      t.ok(
        Math.min(...ratios) > 0.98,
        `noise ${noise}: near its surface in 512-d (min ${Math.min(...ratios).toFixed(4)})`,
      );
    }
  },
);

t.test(
  'with noise, cosines between protected rows stay within the noise of the plaintext cosines',
  async (t) => {
    const next = seeded(9);
    const d = 512;
    const noise = 0.25;
    const xs = Array.from({ length: 12 }, () => vector(d, next));
    let worst = 0;
    for (let i = 0; i < xs.length; i++) {
      for (let j = i + 1; j < xs.length; j++) {
        const protectedCos = cosine(key.protect(xs[i]!, `a${i}`, noise), key.protect(xs[j]!, `a${j}`, noise));
        worst = Math.max(worst, Math.abs(protectedCos - cosine(xs[i]!, xs[j]!)));
      }
    }
    // Two noise terms of size noise/sqrt(d) each plus a 1/(1+noise²) shrink: 0.1 is generous, and a
    // transform that scrambled the geometry would miss it by far (random cosines in 512-d: ±0.04).
    t.ok(worst < 0.1, `max |cos(protected) − cos(plain)| = ${worst.toFixed(4)}`);
    const x = xs[0]!;
    const y = Float32Array.from(x, (v, k) => v + 0.05 * (xs[1]![k]! - v));
    t.ok(
      cosine(key.protect(x, 'p', noise), key.protect(y, 'q', noise)) >
        cosine(key.protect(x, 'p', noise), key.protect(xs[2]!, 'r', noise)),
      'a near neighbour stays nearer than an unrelated vector',
    );
  },
);

t.test(
  'protect is a pure function of (key, vector, context); another context draws other noise',
  async (t) => {
    const x = vector(512, seeded(2));
    const again = vectorKeyOf(DataKey.fromBytes(3, fixedBytes));
    t.not(again, key, 'a separate DataKey object derives its own VectorKey');
    t.same(
      again.protect(x, 'chunk-1', 0.5),
      key.protect(x, 'chunk-1', 0.5),
      'same key bytes and context: same vector',
    );
    t.notSame(key.protect(x, 'chunk-1', 0.5), key.protect(x, 'chunk-2', 0.5), 'another context: other noise');
    t.same(key.protect(x, 'chunk-1', 0), key.rotate(x), 'noise 0 is the rotation alone');
    t.same(
      key.protect(x, Buffer.from('chunk-1'), 0.5),
      key.protect(x, 'chunk-1', 0.5),
      'a context as bytes or as its UTF-8 string is the same context',
    );
  },
);

t.test('two data keys give unrelated spaces: the same vector lands at cosine ~ N(0, 1/d)', async (t) => {
  const next = seeded(21);
  const d = 512;
  const other = vectorKeyOf(DataKey.fromBytes(4, randomBytes(32)));
  const cosines = Array.from({ length: 200 }, () => {
    const x = vector(d, next);
    return cosine(key.rotate(x), other.rotate(x));
  });
  const mean = cosines.reduce((a, b) => a + b, 0) / cosines.length;
  const meanAbs = cosines.reduce((a, b) => a + Math.abs(b), 0) / cosines.length;
  // Independent random directions in 512-d: E|cos| = sqrt(2/(π·512)) ≈ 0.035.
  t.ok(Math.abs(mean) < 0.02, `mean cosine ${mean.toFixed(4)} ≈ 0`);
  t.ok(meanAbs < 0.06, `mean |cosine| ${meanAbs.toFixed(4)} is what unrelated vectors show`);
  t.ok(Math.max(...cosines.map(Math.abs)) < 0.25, 'no vector lands near its other-tenant image');
});

t.test('the derivation is pinned: HKDF label and the stored format of a known vector', async (t) => {
  t.equal(VECTOR_KEY_LABEL, 'memvault/vector-key/v1', 'the label is part of the stored format');
  // The rotation needs only +, −, × and √, so its output is bit-exact on every IEEE-754 platform;
  // a change to the derivation, the stream or the rounds changes this digest (and needs a reindex).
  const x = Float32Array.from({ length: 12 }, (_, i) => (i + 1) / 10);
  const digest = createHash('sha256')
    .update(embeddingToBytes(key.rotate(x)))
    .digest('hex')
    .slice(0, 16);
  t.equal(digest, PINNED_ROTATION_DIGEST);
  // The noise uses log, cos and sin, which may differ in the last bit across platforms: compare
  // to 1e-5 (a changed stream, context encoding or radius moves these by far more).
  const pinned = [1.719589, 1.077014, -1.623111, 2.018789, 1.995067, -0.694326];
  const got = Array.from(key.protect(x, 'pinned', 0.25)).slice(0, pinned.length);
  t.ok(
    got.every((v, i) => Math.abs(v - pinned[i]!) < 1e-5),
    `protect(x, 'pinned', 0.25) starts ${got.map((v) => v.toFixed(6)).join(', ')}`,
  );
});

t.test('bad input is a RangeError, not a vector', async (t) => {
  t.throws(() => key.rotate([]), RangeError);
  t.throws(() => key.rotate([1, Number.NaN]), RangeError);
  t.throws(() => key.protect([1, Infinity], 'c', 0.1), RangeError);
  t.throws(() => key.protect([1, 2], 'c', -0.1), RangeError);
  t.throws(() => key.protect([1, 2], 'c', Number.NaN), RangeError);
});

t.test('a vector key prints and serialises without key material', async (t) => {
  t.equal(inspect(key), 'VectorKey { dataKeyId: 3 }');
  t.equal(JSON.stringify(key), '{"dataKeyId":3}');
  t.type(VectorKey.fromDataKey(DataKey.fromBytes(9, randomBytes(32))), VectorKey);
});

const PINNED_ROTATION_DIGEST = 'c39fcc6b3baf3033';
