/**
 * Request headers of the chunk API: If-Match (optimistic concurrency on a chunk's version) and
 * Idempotency-Key. Both are optional; malformed values are a 400 naming the header.
 */
import type { IncomingMessage } from 'node:http';

import { ValidationError } from '../errors.js';
import { validateIdempotencyKey } from '../memory/index.js';

const STRONG_ETAG = /^"([1-9][0-9]{0,15})"$/;

/**
 * The version an If-Match names; undefined when absent or `*` (any current version: the chunk
 * must merely exist, which every route checks anyway). One strong ETag as this server issues
 * them (`"3"`); lists and weak ETags (which If-Match's strong comparison never matches, RFC 9110)
 * are refused as malformed rather than guessed at.
 */
export function ifMatchVersion(req: IncomingMessage): number | undefined {
  const header = req.headers['if-match'];
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return undefined;
  const match = STRONG_ETAG.exec(value);
  if (!match)
    throw new ValidationError(
      'If-Match',
      'must be one ETag of this chunk as returned by the server, e.g. "3"',
    );
  return Number(match[1]);
}

export function idempotencyKey(req: IncomingMessage): string | undefined {
  const header = req.headers['idempotency-key'];
  return validateIdempotencyKey(Array.isArray(header) ? header.join(',') : header);
}
