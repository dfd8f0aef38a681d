/** Local sentence embeddings (public API, re-exported from the package root). */
export {
  closeEmbedder,
  createEmbedder,
  getEmbedder,
  type Embedder,
  type EmbedderOptions,
} from './embedder.js';
