/**
 * memvault's crypto layer: sealed envelopes (AES-256-GCM), tenant hashing (HMAC-SHA256), the key
 * ring, per-tenant data keys and the AAD that binds blobs to their row. No I/O: keys come in as
 * arguments or through configureCrypto, never from the environment directly. See docs/CRYPTO.md.
 */
export { InvalidTag, type InvalidTagReason } from './invalid-tag.js';
export {
  ENVELOPE_DATA_KEY,
  ENVELOPE_DATA_KEY_LABELLED,
  ENVELOPE_KEY_RING,
  ENVELOPE_OVERHEAD,
  envelopeInfo,
  isDataKeyVersion,
  wrappedKeyId,
  type DataKeyEnvelopeVersion,
  type EnvelopeInfo,
  type EnvelopeVersion,
} from './envelope.js';
export { EncryptionKey, generateKeyBase64, KEY_BYTES, MAX_KEY_ID } from './keys.js';
export { ACTIVE_KEY_ID_VARIABLE, KEY_ID_VARIABLE, KEY_VARIABLE, KEYS_VARIABLE, KeyRing } from './key-ring.js';
export {
  hmacUserWith,
  loadTenantHmacKey,
  TENANT_HMAC_KEY_VARIABLE,
  TenantHmacKey,
  tenantProofWith,
  tenantVerifier,
  type DigestPurpose,
} from './hmac.js';
export {
  DataKey,
  generateDataKey,
  openWithDataKey,
  sealWithDataKey,
  type DataKeyLookup,
} from './data-key.js';
export { TERM_KEY_LABEL, TermKey, termKeyOf } from './term-key.js';
export {
  clearSearchVector,
  DEFAULT_VECTOR_NOISE,
  querySearchVector,
  type SearchVector,
  searchVector,
  VECTOR_SCHEME_CLEAR,
  VECTOR_SCHEME_PROTECTED,
  type VectorScheme,
} from './search-vector.js';
export { assertNoise, VECTOR_KEY_LABEL, VectorKey, vectorKeyOf } from './vector-key.js';
export {
  FILTER_KEY_LABEL,
  FilterKey,
  filterKeyOf,
  type FilterScalar,
  isFilterScalar,
  metadataTokens,
} from './filter-key.js';
export {
  bytesToEmbedding,
  CHUNK_FIELDS,
  chunkAad,
  dekAad,
  embeddingToBytes,
  labelledChunkAad,
  type ChunkField,
  type ChunkPlace,
} from './aad.js';
export { chunkAadFor, openChunkField, sealChunkField } from './chunk-envelope.js';
export {
  configureCrypto,
  cryptoConfigured,
  defaultKeyRing,
  loadCryptoConfig,
  resetCryptoForTests,
  type CryptoConfig,
} from './config.js';
export {
  hmacUser,
  openAnyScheme,
  openSealed,
  rewrapDataKey,
  seal,
  tenantDigest,
  tenantProof,
  unwrapDataKey,
  wrapDataKey,
} from './api.js';
