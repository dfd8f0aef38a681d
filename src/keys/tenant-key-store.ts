/**
 * The daemon's view of per-tenant data keys (envelope encryption, docs/KEYS.md): fetches a tenant's
 * wrapped DEKs, unwraps them with the key ring, and keeps them in memory for a bounded time and
 * number of tenants. A tenant's first write creates its DEK; concurrent writers (in this process or
 * in other daemons) settle on one through memory.add_tenant_key.
 */
import { type DataKey, type DataKeyLookup, generateDataKey, type KeyRing } from '../crypto/index.js';
import { addTenantKey, getTenantKeys, nextDekId, type TenantKeyRow } from '../db/keys.js';
import type { Queryable } from '../db/procedures.js';
import { keyCacheEvents } from './metrics.js';

export interface TenantKeyStoreOptions {
  /** How many tenants' keys to hold at most (least recently used evicted first). */
  maxTenants?: number;
  /** How long unwrapped keys stay cached; after that they are fetched and unwrapped again. */
  ttlMs?: number;
}

interface Entry {
  keys: Map<number, DataKey>;
  activeId: number | undefined;
  expiresAt: number;
}

export class TenantKeyStore {
  readonly #db: Queryable;
  readonly #ring: () => KeyRing;
  readonly #maxTenants: number;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<Entry>>();

  /** `ring` is a getter so a live change of the active key (active_kek_id) applies to new DEKs. */
  constructor(db: Queryable, ring: () => KeyRing, options: TenantKeyStoreOptions = {}) {
    this.#db = db;
    this.#ring = ring;
    this.#maxTenants = options.maxTenants ?? 10_000;
    this.#ttlMs = options.ttlMs ?? 5 * 60_000;
  }

  /** The tenant's active DEK, created on first use. */
  async activeKey(userHash: string): Promise<DataKey> {
    let entry = await this.#entry(userHash);
    if (entry.activeId === undefined) {
      entry = await this.#createKey(userHash);
    }
    return entry.keys.get(entry.activeId!)!;
  }

  /** The tenant's active DEK, or undefined when it has none yet (nothing is created). */
  async currentKey(userHash: string): Promise<DataKey | undefined> {
    const entry = await this.#entry(userHash);
    if (entry.activeId !== undefined) return entry.keys.get(entry.activeId);
    // Not cached as "no key": another daemon may create it with the tenant's first write.
    this.#entries.delete(userHash);
    return undefined;
  }

  /**
   * Resolves DEK ids found in blob headers to the tenant's keys (for the read path). `needed` are
   * the ids the caller is about to open: if the cached entry lacks one — the DEK was created by
   * another process after we cached the tenant — the tenant's keys are fetched again once.
   */
  async lookup(userHash: string, needed: Iterable<number> = []): Promise<DataKeyLookup> {
    let entry = await this.#entry(userHash);
    if ([...needed].some((id) => !entry.keys.has(id))) {
      this.#entries.delete(userHash);
      entry = await this.#entry(userHash);
    }
    const keys = entry.keys;
    return (dekId) => keys.get(dekId);
  }

  /** Drops a tenant's cached keys (its DEK was rotated or destroyed elsewhere). */
  forget(userHash: string): void {
    this.#entries.delete(userHash);
  }

  /**
   * Drops every cached tenant that holds one of these DEKs (they were destroyed or replaced
   * elsewhere; memory_events names the keys, never the tenant). Rare, so a scan is fine.
   */
  forgetKeys(dekIds: Iterable<number>): void {
    const ids = new Set(dekIds);
    if (ids.size === 0) return;
    for (const [userHash, entry] of this.#entries) {
      if ([...entry.keys.keys()].some((id) => ids.has(id))) this.#entries.delete(userHash);
    }
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  async #entry(userHash: string): Promise<Entry> {
    const cached = this.#entries.get(userHash);
    if (cached && cached.expiresAt > Date.now()) {
      // Re-insert to mark it most recently used.
      this.#entries.delete(userHash);
      this.#entries.set(userHash, cached);
      keyCacheEvents.inc({ event: 'hit' });
      return cached;
    }
    keyCacheEvents.inc({ event: 'miss' });
    // One fetch per tenant at a time, however many requests arrive together.
    let loading = this.#loading.get(userHash);
    if (!loading) {
      loading = getTenantKeys(this.#db, userHash)
        .then((rows) => this.#remember(userHash, rows))
        .finally(() => this.#loading.delete(userHash));
      this.#loading.set(userHash, loading);
    }
    return loading;
  }

  async #createKey(userHash: string): Promise<Entry> {
    const dek = await createTenantDek(this.#db, this.#ring(), userHash);
    const keys = new Map(this.#entries.get(userHash)?.keys ?? []);
    keys.set(dek.id, dek);
    return this.#store(userHash, { keys, activeId: dek.id, expiresAt: Date.now() + this.#ttlMs });
  }

  #remember(userHash: string, rows: TenantKeyRow[]): Entry {
    const ring = this.#ring();
    const keys = new Map<number, DataKey>();
    for (const row of rows) keys.set(row.dekId, ring.unwrapDataKey(row.wrappedDek, userHash, row.dekId));
    const active = rows.find((row) => row.active);
    return this.#store(userHash, { keys, activeId: active?.dekId, expiresAt: Date.now() + this.#ttlMs });
  }

  #store(userHash: string, entry: Entry): Entry {
    this.#entries.delete(userHash);
    this.#entries.set(userHash, entry);
    while (this.#entries.size > this.#maxTenants) {
      this.#entries.delete(this.#entries.keys().next().value!);
      keyCacheEvents.inc({ event: 'evict' });
    }
    return entry;
  }
}

/**
 * Gives a tenant without an active DEK one, wrapped under `ring`'s active key, and returns the DEK
 * the tenant ends up with: ours, or the one another writer stored first (add_tenant_key keeps the
 * first). A retired active key is refused by the database: KeyRetiredError, never a DEK under it.
 */
export async function createTenantDek(db: Queryable, ring: KeyRing, userHash: string): Promise<DataKey> {
  const dek = generateDataKey(await nextDekId(db));
  const winner = await addTenantKey(db, userHash, dek.id, ring.wrapDataKey(dek, userHash), ring.activeKeyId);
  return winner.dekId === dek.id ? dek : ring.unwrapDataKey(winner.wrappedDek, userHash, winner.dekId);
}
