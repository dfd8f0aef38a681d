/**
 * The subset of a Hugging Face BERT `config.json` that shapes the graph. TinyBERT-L-2 (the
 * default reranker, cross-encoder/ms-marco-TinyBERT-L-2-v2) is the reference point.
 */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  numLabels: number;
}

export const TINYBERT_L2: BertConfig = {
  vocabSize: 30522,
  hiddenSize: 128,
  numHiddenLayers: 2,
  numAttentionHeads: 2,
  intermediateSize: 512,
  maxPositionEmbeddings: 512,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  numLabels: 1,
};

/** Reads a BERT config.json (snake_case keys) into a BertConfig; unknown keys are ignored. */
export function bertConfigFromJson(json: Record<string, unknown>): BertConfig {
  const num = (key: string, fallback?: number): number => {
    const value = json[key];
    if (typeof value === 'number') return value;
    if (fallback !== undefined) return fallback;
    throw new Error(`config.json: ${key} is missing`);
  };
  const labels =
    json.id2label && typeof json.id2label === 'object' ? Object.keys(json.id2label).length : undefined;
  return {
    vocabSize: num('vocab_size'),
    hiddenSize: num('hidden_size'),
    numHiddenLayers: num('num_hidden_layers'),
    numAttentionHeads: num('num_attention_heads'),
    intermediateSize: num('intermediate_size'),
    maxPositionEmbeddings: num('max_position_embeddings', 512),
    typeVocabSize: num('type_vocab_size', 2),
    layerNormEps: num('layer_norm_eps', 1e-12),
    numLabels: num('num_labels', labels ?? 1),
  };
}
