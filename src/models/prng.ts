/**
 * A tiny seeded generator (mulberry32 + Box-Muller). The fixture model must be byte-identical on
 * every machine and Node version, so Math.random() (unseeded) and crypto (non-reproducible) are out.
 */
export type NormalSource = () => number;

/** Uniform numbers in [0, 1) from a 32-bit seed (mulberry32); the benchmarks' corpora use it too. */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seededNormal(seed: number): NormalSource {
  const uniform = seededUniform(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    // 1 - u keeps log() away from 0.
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}
