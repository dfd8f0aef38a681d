/** Deletion use cases. Both answer with the number of chunks removed (0 when nothing matched). */
import { hmacUser } from '../crypto/index.js';
import { deleteDoc, forgetTenant } from '../db/procedures.js';
import { type MemoryContext, tenantKeys, wroteTenant } from './context.js';
import { validateId } from './validate.js';

export async function forgetDoc(ctx: MemoryContext, userId: unknown, docId: unknown): Promise<number> {
  const userHash = hmacUser(validateId(userId, 'user_id'));
  const validDocId = validateId(docId, 'doc_id');
  const deleted = await deleteDoc(ctx.pool, userHash, validDocId);
  await wroteTenant(ctx, userHash);
  return deleted;
}

/**
 * Removes every chunk of the user and destroys its data keys (crypto-shredding, docs/KEYS.md):
 * the tenant is gone from the database afterwards, and so is our cached copy of its keys.
 */
export async function forgetUser(ctx: MemoryContext, userId: unknown): Promise<number> {
  const userHash = hmacUser(validateId(userId, 'user_id'));
  const deleted = await forgetTenant(ctx.pool, userHash);
  tenantKeys(ctx).forget(userHash);
  // A replica that has not replayed the forget would still hold rows whose keys are gone.
  await wroteTenant(ctx, userHash);
  return deleted;
}
