/**
 * Term keys for the encrypted lexical index. Each term of a tenant's text is stored only as a
 * keyed token: the first 8 bytes of HMAC-SHA256(term key, term), read as a signed 64-bit integer
 * (a PostgreSQL bigint). The term key is derived from the tenant's data key with HKDF-SHA256 under
 * its own label, so
 * - tokens differ per tenant (one term has unrelated tokens in two tenants),
 * - no key is stored for them: whoever can open the tenant's blobs can token its terms, and
 *   destroying the data key (forget, crypto-shredding) or replacing it (`reseal --tenant`) cuts
 *   the tokens loose from any term too,
 * - the data key itself is never used for two purposes (HKDF separates them).
 * 64 bits: a collision between two of one tenant's terms is a 1-in-10^19 event per pair, far below
 * anything that would change a ranking; docs/CRYPTO.md says what tokens reveal.
 */
import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';

import { type DataKey, dataKeyMaterial } from './data-key.js';

/** HKDF `info` for term keys; a new derivation needs a new label (and a reindex). */
export const TERM_KEY_LABEL = 'memvault/lexical-term-key/v1';

export class TermKey {
  /** The id of the data key this term key comes from (stored with the tokens as term_key_id). */
  readonly dataKeyId: number;
  readonly #key: KeyObject;

  private constructor(dataKeyId: number, key: KeyObject) {
    this.dataKeyId = dataKeyId;
    this.#key = key;
  }

  static fromDataKey(dek: DataKey): TermKey {
    const bytes = Buffer.from(hkdfSync('sha256', dataKeyMaterial(dek), Buffer.alloc(0), TERM_KEY_LABEL, 32));
    try {
      return new TermKey(dek.id, createSecretKey(bytes));
    } finally {
      bytes.fill(0);
    }
  }

  /** The keyed token of one term. */
  token(term: string): bigint {
    return createHmac('sha256', this.#key).update(term, 'utf8').digest().readBigInt64BE(0);
  }

  toJSON(): { dataKeyId: number } {
    return { dataKeyId: this.dataKeyId };
  }

  [inspect.custom](): string {
    return `TermKey { dataKeyId: ${this.dataKeyId} }`;
  }
}

const derived = new WeakMap<DataKey, TermKey>();

/** The term key of a data key, derived once per DataKey object (the key stores cache those). */
export function termKeyOf(dek: DataKey): TermKey {
  let key = derived.get(dek);
  if (!key) {
    key = TermKey.fromDataKey(dek);
    derived.set(dek, key);
  }
  return key;
}
