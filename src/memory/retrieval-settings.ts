/**
 * Live retrieval settings (memory.set_setting, applied by the daemon's settings listener like the
 * rerank flag): the mode a query without "mode" gets, and the lexical side's weight in hybrid
 * fusion. Process-wide, so every query sees the latest values without a database read.
 */
import { DEFAULT_VECTOR_NOISE } from '../crypto/index.js';

export const RETRIEVAL_MODES = ['hybrid', 'dense', 'lexical'] as const;
export type RetrievalMode = (typeof RETRIEVAL_MODES)[number];

export interface RetrievalSettings {
  /** For queries that name no mode (setting `retrieval_mode`). */
  mode: RetrievalMode;
  /** Hybrid: the lexical side's weight in the convex combination (setting `hybrid_lexical_weight`). */
  lexicalWeight: number;
  /**
   * Dense side: how many times the candidate count is fetched from the halfvec search layout and
   * re-scored from the sealed float32 embeddings before the cut (setting `rescore_overfetch`,
   * 1-10; ./rescore.ts).
   */
  rescoreOverfetch: number;
  /**
   * Protected vectors: the scale-and-perturb noise radius, relative to the embedding's norm, that
   * newly written search vectors get (setting `vector_noise`, 0-1; docs/CRYPTO.md). Rows written
   * under another value stay valid: queries carry no noise.
   */
  vectorNoise: number;
}

/**
 * Hybrid's default lexical weight, chosen by measurement with the bundled USE-lite embedder
 * (docs/RETRIEVAL.md): at 0.9 hybrid matched or beat BM25 alone on SciFact and Cranfield at both
 * 24 and 100 candidates, the only weight tried that did; lower weights let the weak dense side
 * pull SciFact below BM25. A stronger embedder deserves a lower weight (measure it).
 */
export const DEFAULT_LEXICAL_WEIGHT = 0.9;

/**
 * Default over-fetch for re-scoring: twice the candidates. halfvec keeps about three significant
 * digits, so only chunks whose distances lie within rounding of the cut can trade places; the
 * bench measured recall@10 against exact float32 search (docs/BENCHMARKS.md, "Search layout").
 */
export const DEFAULT_RESCORE_OVERFETCH = 2;

export const DEFAULT_RETRIEVAL_SETTINGS: Readonly<RetrievalSettings> = Object.freeze({
  mode: 'hybrid',
  lexicalWeight: DEFAULT_LEXICAL_WEIGHT,
  rescoreOverfetch: DEFAULT_RESCORE_OVERFETCH,
  vectorNoise: DEFAULT_VECTOR_NOISE,
});

let current: RetrievalSettings = { ...DEFAULT_RETRIEVAL_SETTINGS };

export function currentRetrievalSettings(): Readonly<RetrievalSettings> {
  return current;
}

/**
 * Applies the stored settings (memory.get_settings() as key -> JSON value); a key that is absent
 * or of the wrong type falls back to its default (the database validates values on write).
 */
export function applyRetrievalSettings(stored: Record<string, unknown>): Readonly<RetrievalSettings> {
  const mode = stored.retrieval_mode;
  const weight = stored.hybrid_lexical_weight;
  const overfetch = stored.rescore_overfetch;
  const noise = stored.vector_noise;
  current = {
    mode: RETRIEVAL_MODES.includes(mode as RetrievalMode)
      ? (mode as RetrievalMode)
      : DEFAULT_RETRIEVAL_SETTINGS.mode,
    lexicalWeight:
      typeof weight === 'number' && weight >= 0 && weight <= 1
        ? weight
        : DEFAULT_RETRIEVAL_SETTINGS.lexicalWeight,
    rescoreOverfetch:
      typeof overfetch === 'number' && overfetch >= 1 && overfetch <= 10
        ? overfetch
        : DEFAULT_RETRIEVAL_SETTINGS.rescoreOverfetch,
    vectorNoise:
      typeof noise === 'number' && noise >= 0 && noise <= 1 ? noise : DEFAULT_RETRIEVAL_SETTINGS.vectorNoise,
  };
  return current;
}
