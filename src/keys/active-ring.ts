/**
 * Which key-ring key wraps new DEKs: the configured active key, unless the live setting
 * `active_kek_id` (set by `memvault keys rotate`) names another key this process holds. An
 * override naming a key the process does not hold is ignored (and logged), so nothing is ever
 * wrapped with a key that could not unwrap it here.
 */
import { defaultKeyRing, type KeyRing, KEYS_VARIABLE } from '../crypto/index.js';
import { ConfigError } from '../errors.js';
import { log } from '../log.js';

/** The `active_kek_id` stored in memory.settings, if any. */
export function storedActiveKekId(settings: Readonly<Record<string, unknown>>): number | undefined {
  return typeof settings.active_kek_id === 'number' ? settings.active_kek_id : undefined;
}

/** `ring` with `keyId` active when the ring holds it; otherwise `ring` unchanged. */
export function withActiveKek(ring: KeyRing, keyId: number | undefined): KeyRing {
  if (keyId === undefined || keyId === ring.activeKeyId) return ring;
  if (ring.has(keyId)) return ring.withActiveKey(keyId);
  log.error(
    { keyId },
    'active_kek_id names a key this process does not hold; keeping the configured active key',
  );
  return ring;
}

/**
 * The ring a key job (rotate, reseal, rehash, worker) must use: the live `active_kek_id` active.
 * Unlike the daemon, a job refuses to run when it lacks that key instead of falling back to its
 * environment's active key: a job that re-wraps or re-seals under the environment's key would
 * silently undo a rotation (every DEK it touched would move back to the old key).
 */
export function jobKeyRing(envRing: KeyRing, settings: Readonly<Record<string, unknown>>): KeyRing {
  const live = storedActiveKekId(settings);
  if (live === undefined) return envRing;
  if (!envRing.has(live)) {
    throw new ConfigError(
      KEYS_VARIABLE,
      `the live active key (active_kek_id ${live}) is not configured in this process; add it before running key jobs`,
    );
  }
  return envRing.withActiveKey(live);
}

// The daemon's process-wide view, updated by the settings listener.
let override: number | undefined;
let cached: { base: KeyRing; ring: KeyRing } | undefined;

export function setActiveKekOverride(keyId: number | undefined): void {
  if (keyId === override) return;
  override = keyId;
  cached = undefined;
}

export function activeKeyRing(): KeyRing {
  const base = defaultKeyRing();
  if (cached?.base !== base) cached = { base, ring: withActiveKek(base, override) };
  return cached.ring;
}
