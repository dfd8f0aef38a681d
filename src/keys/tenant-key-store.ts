/**
 * The daemon's view of per-tenant data keys (envelope encryption, docs/KEYS.md): fetches a tenant's
 * wrapped DEKs, unwraps them with the key ring, and keeps them in memory for a bounded time and
 * number of tenants. A tenant's first write creates its DEK; concurrent writers (in this process or
 * in other daemons) settle on one through memory.add_tenant_key.
 */
import { LRUCache } from 'lru-cache';

import { type DataKey, type DataKeyLookup, generateDataKey, type KeyRing } from '../crypto/index.js';
import { addTenantKey, getTenantKeys, nextDekId } from '../db/keys.js';
import type { Queryable } from '../db/procedures.js';
import { keyCacheEvents } from './metrics.js';

export interface TenantKeyStoreOptions {
  /** How many tenants' keys to hold at most (least recently used evicted first). */
  maxTenants?: number;
  /** How long unwrapped keys stay cached; after that they are fetched and unwrapped again. */
  ttlMs?: number;
}

interface Entry {
  keys: ReadonlyMap<number, DataKey>;
  activeId: number | undefined;
}

export class TenantKeyStore {
  readonly #db: Queryable;
  readonly #ring: () => KeyRing;
  /**
   * lru-cache does the bookkeeping: at most `maxTenants` tenants, each for `ttlMs` from when it
   * was stored (a hit does not extend it), and one fetch per tenant at a time however many
   * requests ask together (fetchMethod). A fetch still running when its tenant is forgotten
   * still answers the requests that wait on it (ignoreFetchAbort) but is not cached.
   */
  readonly #cache: LRUCache<string, Entry>;

  /** `ring` is a getter so a live change of the active key (active_kek_id) applies to new DEKs. */
  constructor(db: Queryable, ring: () => KeyRing, options: TenantKeyStoreOptions = {}) {
    this.#db = db;
    this.#ring = ring;
    this.#cache = new LRUCache<string, Entry>({
      max: options.maxTenants ?? 10_000,
      ttl: options.ttlMs ?? 5 * 60_000,
      fetchMethod: (userHash) => this.#fetch(userHash),
      ignoreFetchAbort: true,
      dispose: (_entry, _userHash, reason) => {
        if (reason === 'evict') keyCacheEvents.inc({ event: 'evict' });
      },
    });
  }

  /** The tenant's active DEK, created on first use. */
  async activeKey(userHash: string): Promise<DataKey> {
    let entry = await this.#entry(userHash);
    if (entry.activeId === undefined) {
      entry = await this.#createKey(userHash, entry);
    }
    return entry.keys.get(entry.activeId!)!;
  }

  /** The tenant's active DEK, or undefined when it has none yet (nothing is created). */
  async currentKey(userHash: string): Promise<DataKey | undefined> {
    const entry = await this.#entry(userHash);
    if (entry.activeId !== undefined) return entry.keys.get(entry.activeId);
    // Not cached as "no key": another daemon may create it with the tenant's first write.
    this.#cache.delete(userHash);
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
      entry = await this.#entry(userHash, true);
    }
    const keys = entry.keys;
    return (dekId) => keys.get(dekId);
  }

  /** Drops a tenant's cached keys (its DEK was rotated or destroyed elsewhere). */
  forget(userHash: string): void {
    this.#cache.delete(userHash);
  }

  /**
   * Drops every cached tenant that holds one of these DEKs (they were destroyed or replaced
   * elsewhere; memory_events names the keys, never the tenant). Rare, so a scan is fine.
   */
  forgetKeys(dekIds: Iterable<number>): void {
    const ids = new Set(dekIds);
    if (ids.size === 0) return;
    const holders = [...this.#cache.entries()]
      .filter(([, entry]) => [...entry.keys.keys()].some((id) => ids.has(id)))
      .map(([userHash]) => userHash);
    for (const userHash of holders) this.#cache.delete(userHash);
  }

  clear(): void {
    this.#cache.clear();
  }

  get size(): number {
    return this.#cache.size;
  }

  async #entry(userHash: string, forceRefresh = false): Promise<Entry> {
    const status: LRUCache.Status<string, Entry> = {};
    const entry = await this.#cache.fetch(userHash, { forceRefresh, status });
    keyCacheEvents.inc({ event: status.fetch === 'hit' ? 'hit' : 'miss' });
    return entry!;
  }

  /** The tenant's stored DEKs, unwrapped with the key ring. */
  async #fetch(userHash: string): Promise<Entry> {
    const rows = await getTenantKeys(this.#db, userHash);
    const ring = this.#ring();
    const keys = new Map<number, DataKey>();
    for (const row of rows) keys.set(row.dekId, ring.unwrapDataKey(row.wrappedDek, userHash, row.dekId));
    return { keys, activeId: rows.find((row) => row.active)?.dekId };
  }

  async #createKey(userHash: string, known: Entry): Promise<Entry> {
    const dek = await createTenantDek(this.#db, this.#ring(), userHash);
    const entry = { keys: new Map([...known.keys, [dek.id, dek]]), activeId: dek.id };
    this.#cache.set(userHash, entry);
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
