/**
 * Idempotent writes: a request carrying an Idempotency-Key runs its write in one tenant
 * transaction with the key's claim and the record of its response (db/functions/idempotency.sql).
 * A retry with the same key and the same request gets the first response and writes nothing; the
 * same key with another request is an IdempotencyKeyReusedError. Key and request reach the
 * database only as keyed digests; responses stored there hold ids, versions and timestamps only.
 * Only successful writes are recorded: a request that failed can be retried with its key.
 */
import { timingSafeEqual } from 'node:crypto';

import { tenantDigest } from '../crypto/index.js';
import { claimIdempotencyKey, type Queryable, recordIdempotentResponse } from '../db/procedures.js';
import { withTenant } from '../db/tenant.js';
import { IdempotencyKeyReusedError, MemvaultError, ValidationError } from '../errors.js';
import type { MemoryContext } from './context.js';

/** Longest Idempotency-Key accepted (UUIDs are 36; Stripe allows 255). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

export interface IdempotencyRequest {
  /** The Idempotency-Key header, validated by validateIdempotencyKey. */
  key: string;
  /** The operation and its target, e.g. `PATCH chunk <id>`: a key reused elsewhere is a mismatch. */
  operation: string;
  /** The request body as parsed; compared in canonical form (key order and spacing do not matter). */
  body: unknown;
}

export interface Idempotent<T> {
  value: T;
  /** True when this is the recorded answer of an earlier attempt. */
  replayed: boolean;
}

/** undefined when the header is absent; a ValidationError naming the header when malformed. */
export function validateIdempotencyKey(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new ValidationError(
      'Idempotency-Key',
      `must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`,
    );
  }
  if (!PRINTABLE_ASCII.test(value))
    throw new ValidationError('Idempotency-Key', 'must be printable ASCII without spaces');
  return value;
}

/**
 * Runs `write` in a transaction pinned to the tenant. With a request, the key is claimed first
 * (waiting for a concurrent attempt with the same key to finish) and `toRecord(value)` stored
 * with it; a recorded earlier answer is returned through `fromRecord` instead of writing.
 */
export async function runIdempotent<T>(
  ctx: MemoryContext,
  userHash: string,
  request: IdempotencyRequest | undefined,
  write: (db: Queryable) => Promise<T>,
  record: { status: number; toRecord(value: T): unknown; fromRecord(stored: unknown): T },
): Promise<Idempotent<T>> {
  if (!request)
    return withTenant(ctx.pool, userHash, async (client) => ({
      value: await write(client),
      replayed: false,
    }));
  const keyDigest = tenantDigest('idempotency-key', [userHash, request.key]);
  const requestDigest = tenantDigest('idempotency-request', [
    userHash,
    request.operation,
    canonicalJson(request.body),
  ]);
  return withTenant(ctx.pool, userHash, async (client) => {
    const claim = await claimIdempotencyKey(client, userHash, keyDigest, requestDigest);
    if (!claim.fresh) {
      if (
        claim.requestDigest.length !== requestDigest.length ||
        !timingSafeEqual(claim.requestDigest, requestDigest)
      )
        throw new IdempotencyKeyReusedError();
      // Claim and record share one transaction, so a committed claim always has its response.
      if (claim.status === null) throw new MemvaultError('internal', 'idempotency record without a response');
      return { value: record.fromRecord(claim.response), replayed: true };
    }
    const value = await write(client);
    await recordIdempotentResponse(client, userHash, keyDigest, record.status, record.toRecord(value));
    return { value, replayed: false };
  });
}

/** JSON with object keys sorted at every level: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) return inner;
    const record = inner as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((key) => [key, record[key]]),
    );
  });
}
