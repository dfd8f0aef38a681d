/**
 * `memvault/client`: a typed client for memvault's HTTP API (fetch-based, no dependencies beyond
 * Node). Nothing here imports the server: the package's other modules stay unloaded.
 */
export {
  type CallOptions,
  type ConditionalOptions,
  MemvaultClient,
  type MemvaultClientOptions,
  parseRetryAfter,
  type WriteOptions,
} from './client.js';
export { MemvaultApiError, MemvaultClientError } from './errors.js';
export type * from './types.js';
