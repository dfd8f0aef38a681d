/**
 * The raw AES-256-GCM calls under every envelope: 96-bit nonce, 128-bit tag, AAD fed in parts.
 * Internal to src/crypto (not exported from index.ts); envelope.ts frames blobs around it, and the
 * Wycheproof test runs its vectors through these two functions, so they check the code memvault
 * runs rather than a copy of it.
 */
import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';

export const GCM_CIPHER = 'aes-256-gcm';
export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;

/**
 * Encrypts `plaintext` into `out` at `offset`: the ciphertext, then the 16-byte tag. Several AAD
 * parts feed GHASH exactly as their concatenation would (a test pins this), which saves a copy.
 */
export function gcmSealInto(
  key: KeyObject,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aadParts: readonly Uint8Array[],
  out: Buffer,
  offset: number,
): void {
  const cipher = createCipheriv(GCM_CIPHER, key, nonce, { authTagLength: GCM_TAG_BYTES });
  for (const aad of aadParts) if (aad.length > 0) cipher.setAAD(aad);
  const ciphertext = cipher.update(plaintext);
  const rest = cipher.final();
  // GCM is a stream mode: final() never yields bytes. If it ever did, the layout would be wrong.
  if (ciphertext.length !== plaintext.length || rest.length !== 0)
    throw new Error('unexpected AES-GCM output length');
  ciphertext.copy(out, offset);
  cipher.getAuthTag().copy(out, offset + plaintext.length);
}

/**
 * Decrypts and verifies. Returns the plaintext only after the tag verified; otherwise throws (the
 * caller turns that into InvalidTag) after wiping the partial output.
 */
export function gcmOpen(
  key: KeyObject,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aadParts: readonly Uint8Array[],
): Buffer {
  // authTagLength pins the tag to 16 bytes: without it Node accepts a shortened tag.
  const decipher = createDecipheriv(GCM_CIPHER, key, nonce, { authTagLength: GCM_TAG_BYTES });
  decipher.setAuthTag(tag);
  for (const aad of aadParts) if (aad.length > 0) decipher.setAAD(aad);
  const plaintext = decipher.update(ciphertext);
  try {
    if (decipher.final().length !== 0) throw new Error('unexpected AES-GCM output length');
  } catch (error) {
    plaintext.fill(0);
    throw error;
  }
  return plaintext;
}
