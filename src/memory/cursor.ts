/**
 * Pagination cursors for listing a tenant's chunks: the position of the last row served (created_at
 * in microseconds, chunk id), MACed with a subkey of MEMORY_TENANT_HMAC_KEY over the tenant and the
 * list's filters. Opaque to clients, valid on every daemon sharing the key, and useless to another
 * tenant or with other filters: such a cursor fails its MAC and is a 400 naming `cursor`. Positions
 * are not secret (timestamps and ids are plaintext columns), so the cursor is MACed, not sealed.
 */
import { timingSafeEqual } from 'node:crypto';

import { tenantDigest } from '../crypto/index.js';
import type { ListPosition } from '../db/procedures.js';
import { ValidationError } from '../errors.js';

const CURSOR_VERSION = 1;
const MAC_BYTES = 16;
// version (1) | created_us (8, signed big-endian) | uuid (16) | mac (16)
const CURSOR_BYTES = 1 + 8 + 16 + MAC_BYTES;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** What a cursor is bound to besides its position. */
export interface CursorScope {
  userHash: string;
  docId?: string | undefined;
  source?: string | undefined;
  /** The list's filter as canonical JSON (src/memory/filter.ts). */
  filter?: string | undefined;
}

export function encodeCursor(scope: CursorScope, position: ListPosition): string {
  const body = Buffer.alloc(1 + 8 + 16);
  body.writeUInt8(CURSOR_VERSION, 0);
  body.writeBigInt64BE(position.createdUs, 1);
  Buffer.from(position.id.replaceAll('-', ''), 'hex').copy(body, 9);
  return Buffer.concat([body, mac(scope, body)]).toString('base64url');
}

/** The position a cursor names; a ValidationError (field `cursor`) for anything this scope did not issue. */
export function decodeCursor(scope: CursorScope, cursor: string): ListPosition {
  const invalid = new ValidationError('cursor', 'is not a cursor this server issued for this listing');
  if (cursor.length > 64 || !BASE64URL.test(cursor)) throw invalid;
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.length !== CURSOR_BYTES || bytes[0] !== CURSOR_VERSION) throw invalid;
  const body = bytes.subarray(0, CURSOR_BYTES - MAC_BYTES);
  if (!timingSafeEqual(bytes.subarray(CURSOR_BYTES - MAC_BYTES), mac(scope, body))) throw invalid;
  const hex = body.subarray(9, 25).toString('hex');
  return {
    createdUs: body.readBigInt64BE(1),
    id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
  };
}

function mac(scope: CursorScope, body: Buffer): Buffer {
  // A filter that is absent and one that is set never encode alike: ids and filters are never empty.
  return tenantDigest('list-cursor', [
    scope.userHash,
    scope.docId ?? '',
    scope.source ?? '',
    scope.filter ?? '',
    body.toString('hex'),
  ]).subarray(0, MAC_BYTES);
}
