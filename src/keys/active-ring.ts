/**
 * The key ring new DEKs are wrapped with: the process's configured ring, with the active key
 * possibly overridden live by the `active_kek_id` setting (`memvault keys rotate`). An override
 * naming a key this process does not hold is ignored (and logged), so a daemon never wraps with a
 * key it could not unwrap.
 */
import { defaultKeyRing, type KeyRing } from '../crypto/index.js';
import { log } from '../log.js';

let override: number | undefined;
let cached: { base: KeyRing; ring: KeyRing } | undefined;

export function setActiveKekOverride(keyId: number | undefined): void {
  if (keyId === override) return;
  override = keyId;
  cached = undefined;
}

export function activeKeyRing(): KeyRing {
  const base = defaultKeyRing();
  if (cached?.base === base) return cached.ring;
  let ring = base;
  if (override !== undefined) {
    if (base.has(override)) ring = base.withActiveKey(override);
    else log.error({ keyId: override }, 'active_kek_id names a key this process does not hold; keeping the configured active key');
  }
  cached = { base, ring };
  return ring;
}
