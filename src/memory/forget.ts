/** Deletion use cases. Both answer with the number of chunks removed (0 when nothing matched). */
import { hmacUser } from '../crypto/index.js';
import { deleteDoc, forgetTenant } from '../db/procedures.js';
import type { MemoryContext } from './context.js';
import { validateId } from './validate.js';

export function forgetDoc(ctx: MemoryContext, userId: unknown, docId: unknown): Promise<number> {
  const validUserId = validateId(userId, 'user_id');
  const validDocId = validateId(docId, 'doc_id');
  return deleteDoc(ctx.pool, hmacUser(validUserId), validDocId);
}

/** Removes every chunk of the user: the tenant is gone from the database afterwards. */
export function forgetUser(ctx: MemoryContext, userId: unknown): Promise<number> {
  return forgetTenant(ctx.pool, hmacUser(validateId(userId, 'user_id')));
}
