/**
 * memvault's public library API (the package's `exports["."]`). Each layer adds its exports here.
 */
export { MemvaultError, ValidationError, ConfigError } from './errors.js';
export * from './rerank/index.js';
export {
  closeEmbedder,
  createEmbedder,
  getEmbedder,
  type Embedder,
  type EmbedderOptions,
} from './embed/index.js';
export * from './crypto/index.js';
export * from './memory/index.js';
export { createPool, type Pool, type PoolOptions } from './db/pool.js';
export { inTransaction, withRetry, withTenant } from './db/tenant.js';
export { verifyRlsIsolation, type RlsCheck } from './db/procedures.js';
export { migrateDatabase, DEFAULT_EMBEDDING_DIM, type MigrateOptions } from './db/migrate.js';
export { runDoctor, type CheckResult } from './db/doctor.js';
export {
  DatabaseError,
  DatabaseUnavailableError,
  DuplicateChunkError,
  MaintenanceForbiddenError,
  ProcedureArgumentError,
  StaleDataKeyError,
  TenantContextError,
  TenantProofError,
} from './db/errors.js';
export { TenantKeyStore, type TenantKeyStoreOptions } from './keys/tenant-key-store.js';
export { startDaemon, type Daemon } from './daemon.js';
