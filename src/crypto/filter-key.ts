/**
 * Filter keys for sealed metadata. Each top-level scalar field of a chunk's metadata is stored,
 * beside the sealed metadata, only as a keyed token of (field, value): the first 8 bytes of
 * HMAC-SHA256(filter key, JSON of [field, value]) read as a signed 64-bit integer (a PostgreSQL
 * bigint), so equality and set membership can be matched in SQL while the database never sees a
 * field name or a value. The filter key is derived from the tenant's data key with HKDF-SHA256
 * under its own label, so
 * - tokens differ per tenant (the same field and value give unrelated tokens in two tenants),
 * - no key is stored for them, and forgetting the tenant (destroying the data key) or replacing
 *   the key (`reseal --tenant`) cuts every token loose from its value,
 * - the data key itself is never used for two purposes.
 * JSON of the pair makes the encoding unambiguous: "1" and 1, true and "true", null and "null"
 * are different values, and a field name cannot run into its value.
 */
import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';

import { type DataKey, dataKeyMaterial } from './data-key.js';

/** HKDF `info` for filter keys; a new derivation needs a new label (and re-tokening every chunk). */
export const FILTER_KEY_LABEL = 'memvault/metadata-filter-key/v1';

/** A value a filter can match: what JSON calls a scalar. */
export type FilterScalar = string | number | boolean | null;

export class FilterKey {
  /** The id of the data key this filter key comes from (stored with the tokens). */
  readonly dataKeyId: number;
  readonly #key: KeyObject;

  private constructor(dataKeyId: number, key: KeyObject) {
    this.dataKeyId = dataKeyId;
    this.#key = key;
  }

  static fromDataKey(dek: DataKey): FilterKey {
    const bytes = Buffer.from(
      hkdfSync('sha256', dataKeyMaterial(dek), Buffer.alloc(0), FILTER_KEY_LABEL, 32),
    );
    try {
      return new FilterKey(dek.id, createSecretKey(bytes));
    } finally {
      bytes.fill(0);
    }
  }

  /** The keyed token of `field` = `value` (-0 is 0, as in JSON). */
  token(field: string, value: FilterScalar): bigint {
    return createHmac('sha256', this.#key)
      .update(JSON.stringify([field, value]), 'utf8')
      .digest()
      .readBigInt64BE(0);
  }

  toJSON(): { dataKeyId: number } {
    return { dataKeyId: this.dataKeyId };
  }

  [inspect.custom](): string {
    return `FilterKey { dataKeyId: ${this.dataKeyId} }`;
  }
}

const derived = new WeakMap<DataKey, FilterKey>();

/** The filter key of a data key, derived once per DataKey object (the key stores cache those). */
export function filterKeyOf(dek: DataKey): FilterKey {
  let key = derived.get(dek);
  if (!key) {
    key = FilterKey.fromDataKey(dek);
    derived.set(dek, key);
  }
  return key;
}

/**
 * The tokens a chunk's metadata is filtered by: one per top-level field whose value is a scalar
 * (string, finite number, boolean, null), sorted and unique. Nested objects and arrays get none:
 * filters match top-level scalars only.
 */
export function metadataTokens(key: FilterKey, metadata: Readonly<Record<string, unknown>>): bigint[] {
  const tokens = new Set<bigint>();
  for (const [field, value] of Object.entries(metadata)) {
    if (isFilterScalar(value)) tokens.add(key.token(field, value));
  }
  return [...tokens].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function isFilterScalar(value: unknown): value is FilterScalar {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}
