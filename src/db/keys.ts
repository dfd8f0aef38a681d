/**
 * Typed wrappers for the key procedures: a tenant's data keys (memory_app) and the maintenance
 * jobs that rotate, re-seal and re-hash across tenants (memory_maintainer, docs/KEYS.md). The
 * maintenance ones must run inside a transaction on one client, since their claims are row locks.
 */
import { call, type Queryable } from './procedures.js';

export interface TenantKeyRow {
  dekId: number;
  wrappedDek: Buffer;
  kekId: number;
  active: boolean;
}

export async function nextDekId(db: Queryable): Promise<number> {
  return (await call<{ id: number }>(db, 'select memory.next_dek_id() as id', []))[0]!.id;
}

export async function getTenantKeys(db: Queryable, userHash: string): Promise<TenantKeyRow[]> {
  const rows = await call<{ dek_id: number; wrapped_dek: Buffer; kek_id: number; active: boolean }>(
    db,
    'select * from memory.get_tenant_keys($1::text)',
    [userHash],
  );
  return rows.map((r) => ({ dekId: r.dek_id, wrappedDek: r.wrapped_dek, kekId: r.kek_id, active: r.active }));
}

/** Stores the tenant's first DEK unless another writer won; returns the active one either way. */
export async function addTenantKey(
  db: Queryable,
  userHash: string,
  dekId: number,
  wrappedDek: Buffer,
  kekId: number,
): Promise<TenantKeyRow> {
  return storeFirstKey(db, 'memory.add_tenant_key', userHash, dekId, wrappedDek, kekId);
}

/**
 * A maintenance job's version of addTenantKey (memory_maintainer, inside its maintenance
 * transaction, no tenant proof): the first DEK of a tenant from before per-tenant keys.
 */
export async function addTenantKeyInMaintenance(
  db: Queryable,
  userHash: string,
  dekId: number,
  wrappedDek: Buffer,
  kekId: number,
): Promise<TenantKeyRow> {
  return storeFirstKey(db, 'memory.add_tenant_key_in_maintenance', userHash, dekId, wrappedDek, kekId);
}

/** Both procedures take and answer the same shape; only who may call them differs. */
async function storeFirstKey(
  db: Queryable,
  procedure: 'memory.add_tenant_key' | 'memory.add_tenant_key_in_maintenance',
  userHash: string,
  dekId: number,
  wrappedDek: Buffer,
  kekId: number,
): Promise<TenantKeyRow> {
  const rows = await call<{ dek_id: number; wrapped_dek: Buffer; kek_id: number }>(
    db,
    `select * from ${procedure}($1::text, $2::integer, $3::bytea, $4::integer)`,
    [userHash, dekId, wrappedDek, kekId],
  );
  const row = rows[0]!;
  return { dekId: row.dek_id, wrappedDek: row.wrapped_dek, kekId: row.kek_id, active: true };
}

export interface WrappedDekRow {
  userHash: string;
  dekId: number;
  wrappedDek: Buffer;
  kekId: number;
}

export async function claimDekRewrap(
  db: Queryable,
  targetKekId: number,
  limit: number,
): Promise<WrappedDekRow[]> {
  const rows = await call<{ user_hash: string; dek_id: number; wrapped_dek: Buffer; kek_id: number }>(
    db,
    'select * from memory.claim_dek_rewrap($1::integer, $2::integer)',
    [targetKekId, limit],
  );
  return rows.map((r) => ({
    userHash: r.user_hash,
    dekId: r.dek_id,
    wrappedDek: r.wrapped_dek,
    kekId: r.kek_id,
  }));
}

export async function storeRewrappedDeks(
  db: Queryable,
  rows: WrappedDekRow[],
  kekId: number,
): Promise<number> {
  const result = await call<{ n: number }>(
    db,
    'select memory.store_rewrapped_deks($1::text[], $2::integer[], $3::bytea[], $4::integer) as n',
    [rows.map((r) => r.userHash), rows.map((r) => r.dekId), rows.map((r) => r.wrappedDek), kekId],
  );
  return result[0]!.n;
}

export interface KeyUsage {
  kekId: number;
  wrappedDeks: number;
  legacyChunks: number;
}

export async function keyUsage(db: Queryable): Promise<KeyUsage[]> {
  const rows = await call<{ kek_id: number; wrapped_deks: string; legacy_chunks: string }>(
    db,
    'select * from memory.key_usage()',
    [],
  );
  return rows.map((r) => ({
    kekId: r.kek_id,
    wrappedDeks: Number(r.wrapped_deks),
    legacyChunks: Number(r.legacy_chunks),
  }));
}

export interface ResealRow {
  userHash: string;
  id: string;
  /** Bound into a version-3 blob's AAD, so the job needs them to open it. */
  docId: string;
  source: string;
  textCipher: Buffer;
  metaCipher: Buffer;
  embCipher: Buffer;
  keyScheme: number;
  keyId: number;
}

export interface ResealCursor {
  userHash: string;
  id: string;
}

export async function claimReseal(
  db: Queryable,
  limit: number,
  tenant: string | null,
  after: ResealCursor | null,
): Promise<ResealRow[]> {
  const rows = await call<{
    user_hash: string;
    id: string;
    doc_id: string;
    source: string;
    text_cipher: Buffer;
    meta_cipher: Buffer;
    emb_cipher: Buffer;
    key_scheme: number;
    key_id: number;
  }>(db, 'select * from memory.claim_reseal($1::integer, $2::text, $3::text, $4::uuid)', [
    limit,
    tenant,
    after?.userHash ?? '',
    after?.id ?? '00000000-0000-0000-0000-000000000000',
  ]);
  return rows.map((r) => ({
    userHash: r.user_hash,
    id: r.id,
    docId: r.doc_id,
    source: r.source,
    textCipher: r.text_cipher,
    metaCipher: r.meta_cipher,
    embCipher: r.emb_cipher,
    keyScheme: r.key_scheme,
    keyId: r.key_id,
  }));
}

export interface ResealedChunk {
  userHash: string;
  id: string;
  textCipher: Buffer;
  metaCipher: Buffer;
  embCipher: Buffer;
  dekId: number;
}

export async function storeResealed(db: Queryable, rows: ResealedChunk[]): Promise<number> {
  const result = await call<{ n: number }>(
    db,
    'select memory.store_resealed($1::text[], $2::uuid[], $3::bytea[], $4::bytea[], $5::bytea[], $6::integer[]) as n',
    [
      rows.map((r) => r.userHash),
      rows.map((r) => r.id),
      rows.map((r) => r.textCipher),
      rows.map((r) => r.metaCipher),
      rows.map((r) => r.embCipher),
      rows.map((r) => r.dekId),
    ],
  );
  return result[0]!.n;
}

export async function tenantKeysOf(
  db: Queryable,
  userHashes: string[],
): Promise<Array<TenantKeyRow & { userHash: string }>> {
  const rows = await call<{
    user_hash: string;
    dek_id: number;
    wrapped_dek: Buffer;
    kek_id: number;
    active: boolean;
  }>(db, 'select * from memory.tenant_keys_of($1::text[])', [userHashes]);
  return rows.map((r) => ({
    userHash: r.user_hash,
    dekId: r.dek_id,
    wrappedDek: r.wrapped_dek,
    kekId: r.kek_id,
    active: r.active,
  }));
}

export async function rotateTenantKey(
  db: Queryable,
  userHash: string,
  dekId: number,
  wrappedDek: Buffer,
  kekId: number,
): Promise<void> {
  await call(db, 'select memory.rotate_tenant_key($1::text, $2::integer, $3::bytea, $4::integer)', [
    userHash,
    dekId,
    wrappedDek,
    kekId,
  ]);
}

export async function dropRetiredTenantKeys(db: Queryable, userHash: string | null): Promise<number> {
  return (
    await call<{ n: number }>(db, 'select memory.drop_retired_tenant_keys($1::text) as n', [userHash])
  )[0]!.n;
}

export interface RehashChunkRow {
  id: string;
  /** Bound into a version-3 blob's AAD, so the job needs them to open it. */
  docId: string;
  source: string;
  textCipher: Buffer;
  metaCipher: Buffer;
  embCipher: Buffer;
  keyScheme: number;
  keyId: number;
}

export async function rehashReadChunks(
  db: Queryable,
  oldHash: string,
  limit: number,
  afterId: string | null,
): Promise<RehashChunkRow[]> {
  const rows = await call<{
    id: string;
    doc_id: string;
    source: string;
    text_cipher: Buffer;
    meta_cipher: Buffer;
    emb_cipher: Buffer;
    key_scheme: number;
    key_id: number;
  }>(db, 'select * from memory.rehash_read_chunks($1::text, $2::integer, $3::uuid)', [
    oldHash,
    limit,
    afterId,
  ]);
  return rows.map((r) => ({
    id: r.id,
    docId: r.doc_id,
    source: r.source,
    textCipher: r.text_cipher,
    metaCipher: r.meta_cipher,
    embCipher: r.emb_cipher,
    keyScheme: r.key_scheme,
    keyId: r.key_id,
  }));
}

export async function rehashMoveChunks(
  db: Queryable,
  oldHash: string,
  newHash: string,
  rows: Array<{ id: string; textCipher: Buffer; metaCipher: Buffer; embCipher: Buffer }>,
): Promise<number> {
  const result = await call<{ n: number }>(
    db,
    'select memory.rehash_move_chunks($1::text, $2::text, $3::uuid[], $4::bytea[], $5::bytea[], $6::bytea[]) as n',
    [
      oldHash,
      newHash,
      rows.map((r) => r.id),
      rows.map((r) => r.textCipher),
      rows.map((r) => r.metaCipher),
      rows.map((r) => r.embCipher),
    ],
  );
  return result[0]!.n;
}

export async function rehashMoveKeys(
  db: Queryable,
  oldHash: string,
  newHash: string,
  keys: Array<{ dekId: number; wrappedDek: Buffer }>,
  kekId: number,
): Promise<number> {
  const result = await call<{ n: number }>(
    db,
    'select memory.rehash_move_keys($1::text, $2::text, $3::integer[], $4::bytea[], $5::integer) as n',
    [oldHash, newHash, keys.map((k) => k.dekId), keys.map((k) => k.wrappedDek), kekId],
  );
  return result[0]!.n;
}

export async function rehashTenantState(
  db: Queryable,
  userHash: string,
): Promise<{ chunks: number; keys: number }> {
  const row = (
    await call<{ chunks: string; keys: string }>(db, 'select * from memory.rehash_tenant_state($1::text)', [
      userHash,
    ])
  )[0]!;
  return { chunks: Number(row.chunks), keys: Number(row.keys) };
}

/**
 * Tells every daemon to drop its cached copy of these (replaced) DEKs (channel memory_events). The
 * payload names the keys, never the tenant: any role that can connect can LISTEN.
 */
export async function notifyTenantKeyRotated(db: Queryable, replacedDekIds: number[]): Promise<void> {
  await call(
    db,
    "select pg_notify('memory_events', json_build_object('event', 'tenant_key_rotated', 'dek_ids', $1::integer[], 'nonce', gen_random_uuid())::text)",
    [replacedDekIds],
  );
}

/** Wakes key workers (`memvault keys worker`) in every process listening on memory_jobs. */
export async function notifyKeyJobs(db: Queryable, job: 'rewrap' | 'reseal'): Promise<void> {
  await call(
    db,
    "select pg_notify('memory_jobs', json_build_object('job', $1::text, 'nonce', gen_random_uuid())::text)",
    [job],
  );
}

/** HMAC key rotation: the tenant's proof verifier moves to its new hash (computed under the new key). */
export async function rehashMoveProof(
  db: Queryable,
  oldHash: string,
  newHash: string,
  verifier: Buffer,
): Promise<void> {
  await call(db, 'select memory.rehash_move_proof($1::text, $2::text, $3::bytea)', [
    oldHash,
    newHash,
    verifier,
  ]);
}

/** Tenants with data and no proof verifier, after a keyset cursor (`memvault tenants prove`). */
export async function claimTenantProofs(db: Queryable, limit: number, afterHash = ''): Promise<string[]> {
  const rows = await call<{ user_hash: string }>(
    db,
    'select * from memory.claim_tenant_proofs($1::integer, $2::text)',
    [limit, afterHash],
  );
  return rows.map((r) => r.user_hash);
}

/** Stores tenants' proof verifiers (an existing one is kept); returns how many were new. */
export async function storeTenantVerifiers(
  db: Queryable,
  entries: Array<{ userHash: string; verifier: Buffer }>,
): Promise<number> {
  const rows = await call<{ n: number }>(
    db,
    'select memory.store_tenant_verifiers($1::text[], $2::bytea[]) as n',
    [entries.map((e) => e.userHash), entries.map((e) => e.verifier)],
  );
  return rows[0]!.n;
}

/** Requires proofs once no tenant with data lacks a verifier; what is still missing, and the mode. */
export async function requireTenantProofs(db: Queryable): Promise<{ missing: number; required: boolean }> {
  const rows = await call<{ missing: string; required: boolean }>(
    db,
    'select * from memory.require_tenant_proofs()',
    [],
  );
  return { missing: Number(rows[0]!.missing), required: rows[0]!.required };
}
