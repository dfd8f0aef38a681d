/**
 * Live retrieval settings (memory.set_setting, applied by the daemon's settings listener like the
 * rerank flag): the mode a query without "mode" gets, and the lexical side's weight in hybrid
 * fusion. Process-wide, so every query sees the latest values without a database read.
 */
export const RETRIEVAL_MODES = ['hybrid', 'dense', 'lexical'] as const;
export type RetrievalMode = (typeof RETRIEVAL_MODES)[number];

export interface RetrievalSettings {
  /** For queries that name no mode (setting `retrieval_mode`). */
  mode: RetrievalMode;
  /** Hybrid: the lexical side's weight in the convex combination (setting `hybrid_lexical_weight`). */
  lexicalWeight: number;
}

/**
 * Hybrid's default lexical weight, chosen by measurement with the bundled USE-lite embedder
 * (docs/RETRIEVAL.md): at 0.9 hybrid matched or beat BM25 alone on SciFact and Cranfield at both
 * 24 and 100 candidates, the only weight tried that did; lower weights let the weak dense side
 * pull SciFact below BM25. A stronger embedder deserves a lower weight (measure it).
 */
export const DEFAULT_LEXICAL_WEIGHT = 0.9;

export const DEFAULT_RETRIEVAL_SETTINGS: Readonly<RetrievalSettings> = Object.freeze({
  mode: 'hybrid',
  lexicalWeight: DEFAULT_LEXICAL_WEIGHT,
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
  current = {
    mode: RETRIEVAL_MODES.includes(mode as RetrievalMode)
      ? (mode as RetrievalMode)
      : DEFAULT_RETRIEVAL_SETTINGS.mode,
    lexicalWeight:
      typeof weight === 'number' && weight >= 0 && weight <= 1
        ? weight
        : DEFAULT_RETRIEVAL_SETTINGS.lexicalWeight,
  };
  return current;
}
