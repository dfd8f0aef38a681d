/**
 * Hostile inputs for the fuzz tests: JSON-ish values of every shape, strings with lone
 * surrogates, NUL and right-to-left marks, numbers at the edges of IEEE 754, ids carrying SQL and
 * path metacharacters. MEMVAULT_FUZZ_SCALE multiplies every run count (CI runs the fast default;
 * `MEMVAULT_FUZZ_SCALE=20 npx tap test/fuzz` is the long run).
 */
import fc from 'fast-check';

export const SCALE = Math.max(0.01, Number(process.env.MEMVAULT_FUZZ_SCALE ?? 1));

export function runs(base: number): number {
  return Math.max(1, Math.round(base * SCALE));
}

export const edgeNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    0,
    1e308,
    -1e308,
    5e-324,
    3.4028235e38,
    2 ** 53,
    -(2 ** 53) - 2,
  ),
  fc.double(),
  fc.integer(),
);

const metaChars = fc.constantFrom(
  "'",
  '"',
  ';',
  '--',
  '/*',
  '*/',
  '\\',
  '../',
  '..\\',
  '%2e%2e%2f',
  '%00',
  '\u0000',
  '$1',
  '::',
  '$$',
  ' or 1=1',
  "'); drop table memory.memory_chunks; --",
  '\uD800',
  '\uDFFF',
  '\u202E',
  '\uFEFF',
  '\u{1F600}',
  '?',
  '#',
  '&',
  '=',
  '%',
  ' ',
  '\n',
  '\r\n',
  '\t',
  'é',
  'ß',
  '漢',
);

/** Strings built from metacharacters, lone surrogates and arbitrary UTF-16 code units. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc
    .array(fc.oneof(metaChars, fc.string16bits({ maxLength: 4 }), fc.fullUnicodeString({ maxLength: 4 })), {
      maxLength: 12,
    })
    .map((parts) => parts.join('')),
  fc.string16bits({ maxLength: 40 }),
  fc.constantFrom('', ' ', 'a'.repeat(257), 'x'.repeat(5000)),
);

/** Any JSON-like value, nasty leaves included (JSON.stringify turns NaN/Infinity into null). */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    edgeNumber,
    nastyString,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(nastyString, tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** An embedding-ish value: sometimes right, mostly wrong in some way. */
export function embeddingLike(dim: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: dim, maxLength: dim }),
    fc.array(edgeNumber, { minLength: dim, maxLength: dim }),
    fc.array(edgeNumber, { maxLength: 8 }),
    fc.array(fc.oneof(fc.double({ min: -1, max: 1, noNaN: true }), fc.constant(null), fc.string()), {
      minLength: dim,
      maxLength: dim,
    }),
    anyJson,
  );
}
