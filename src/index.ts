/**
 * memvault's public library API (the package's `exports["."]`). Each layer adds its exports here.
 */
export { MemvaultError, ValidationError, ConfigError } from './errors.js';
export * from './rerank/index.js';
export { closeEmbedder, createEmbedder, getEmbedder, type Embedder, type EmbedderOptions } from './embed/index.js';
export * from './crypto/index.js';
