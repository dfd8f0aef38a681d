/** Shared arrangements for the key tests: key material, writing chunks as a daemon would, the CLI. */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

import {
  chunkAad,
  type ChunkField,
  type ChunkPlace,
  EncryptionKey,
  generateKeyBase64,
  KeyRing,
  openChunkField,
  sealChunkField,
  sealWithDataKey,
} from '../../src/crypto/index.js';
import * as procedures from '../../src/db/procedures.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { packageRoot } from '../../src/paths.js';
import { type TestDatabase, testVector } from '../helpers/db.js';

export const keyB64: Record<number, string> = {
  1: generateKeyBase64(),
  2: generateKeyBase64(),
  3: generateKeyBase64(),
};

export const ringOf = (ids: number[], active: number): KeyRing =>
  new KeyRing(
    ids.map((id) => EncryptionKey.fromBase64(id, keyB64[id], 'test')),
    active,
  );

export const cliPath = join(packageRoot, 'dist/cli/main.js');

/** The environment of a CLI key job holding `ids`, with `active` as its configured active key. */
export function cliEnv(db: TestDatabase, ids: number[], active: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MEMVAULT_MAINTENANCE_URL: db.maintenanceUrl,
    // Through a pooler (test/pooler/), `keys worker` LISTENs on the direct connection.
    ...(db.maintenanceUrl !== db.adminUrl ? { MEMVAULT_LISTEN_URL: db.adminUrl } : {}),
    MEMORY_ENCRYPTION_KEYS: ids.map((id) => `${id}:${keyB64[id]}`).join(','),
    MEMORY_ENCRYPTION_ACTIVE_KEY_ID: String(active),
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Writes `count` chunks whose three fields `seal` seals, stored as (keyId, scheme). */
async function writeSealedChunks(
  db: TestDatabase,
  userHash: string,
  count: number,
  tag: string,
  seal: (plaintext: Buffer, place: ChunkPlace, field: ChunkField) => Buffer,
  keyId: number,
  scheme: 1 | 2,
): Promise<string[]> {
  const chunks = Array.from({ length: count }, (_, i) => {
    const place = { id: randomUUID(), docId: `doc-${tag}-${i}`, source: 'test' };
    return {
      ...place,
      textCipher: seal(Buffer.from(`text ${tag} ${i}`), place, 'text'),
      metaCipher: seal(Buffer.from('{}'), place, 'meta'),
      embCipher: seal(Buffer.from([i % 256]), place, 'embedding'),
      embedding: testVector(i),
    };
  });
  await procedures.storeSealedChunks(db.app, userHash, chunks, keyId, scheme);
  return chunks.map((c) => c.id);
}

/** Writes `count` chunks for a tenant the way the daemon does: under the tenant's DEK, labels bound (version 3). */
export async function writeChunks(
  db: TestDatabase,
  store: TenantKeyStore,
  userHash: string,
  count: number,
  tag = 'x',
): Promise<string[]> {
  const dek = await store.activeKey(userHash);
  const seal = (p: Buffer, place: ChunkPlace, field: ChunkField) =>
    sealChunkField(dek, p, userHash, place, field);
  return writeSealedChunks(db, userHash, count, tag, seal, dek.id, 2);
}

/**
 * Writes `count` chunks under the tenant's DEK as before doc_id and source were bound (envelope
 * version 2): the rows an upgraded database holds until `memvault reseal`.
 */
export async function writeVersion2Chunks(
  db: TestDatabase,
  store: TenantKeyStore,
  userHash: string,
  count: number,
  tag = 'x',
): Promise<string[]> {
  const dek = await store.activeKey(userHash);
  const seal = (p: Buffer, place: ChunkPlace, field: ChunkField) =>
    sealWithDataKey(dek, p, chunkAad(userHash, place.id, field));
  return writeSealedChunks(db, userHash, count, tag, seal, dek.id, 2);
}

/** Writes `count` legacy chunks (envelope version 1) sealed directly under `ring`'s active key. */
export async function writeLegacyChunks(
  db: TestDatabase,
  ring: KeyRing,
  userHash: string,
  count: number,
  tag = 'legacy',
): Promise<string[]> {
  const seal = (p: Buffer, place: ChunkPlace, field: ChunkField) =>
    ring.seal(p, chunkAad(userHash, place.id, field));
  return writeSealedChunks(db, userHash, count, tag, seal, ring.activeKeyId, 1);
}

/**
 * Opens every field of the given chunks with `ring` alone (version 1 blobs) and the tenant's
 * stored, wrapped DEKs (versions 2 and 3); returns the texts. Throws InvalidTag if any blob does not open.
 */
export async function openAll(
  db: TestDatabase,
  ring: KeyRing,
  userHash: string,
  ids: string[],
): Promise<string[]> {
  const store = new TenantKeyStore(db.app, () => ring);
  const lookup = await store.lookup(userHash);
  const rows = await procedures.getChunks(db.app, userHash, ids);
  return rows.map((row) => {
    // Any envelope version: re-sealed rows are version 3 (doc_id and source bound).
    const place = { id: row.id, docId: row.doc_id, source: row.source };
    const open = (blob: Buffer, field: 'text' | 'meta' | 'embedding') =>
      openChunkField(blob, userHash, place, field, lookup, ring);
    open(row.meta_cipher, 'meta');
    open(row.emb_cipher, 'embedding');
    return open(row.text_cipher, 'text').toString();
  });
}
