/**
 * The process-wide crypto configuration behind the module-level `seal`, `openSealed`, `hmacUser`...
 * It is read from process.env lazily, on first use, so a library user gets a ConfigError naming
 * the missing variable at the call that needs it; the daemon instead reads its keys at start
 * (`loadCryptoConfig`, via readSecrets in src/config.ts) and installs them with `configureCrypto`,
 * so a bad key stops it before it serves anything. A failed load is not cached: fixing the
 * environment and retrying works.
 */
import type { Env } from '../env.js';
import { ConfigError } from '../errors.js';
import { TENANT_HMAC_KEY_VARIABLE, TenantHmacKey } from './hmac.js';
import { KeyRing, keyRingMaterial } from './key-ring.js';

export interface CryptoConfig {
  readonly ring: KeyRing;
  readonly tenantKey: TenantHmacKey;
}

/**
 * Reads and validates every crypto variable. Throws a ConfigError naming the first bad variable;
 * the message never contains a value.
 */
export function loadCryptoConfig(env: Env = process.env): CryptoConfig {
  const ring = KeyRing.fromEnv(env);
  const tenantKey = TenantHmacKey.fromBase64(env[TENANT_HMAC_KEY_VARIABLE], TENANT_HMAC_KEY_VARIABLE);
  // One key for two algorithms is a classic mistake (usually a copy-paste); refuse it.
  if (keyRingMaterial(ring).some((key) => tenantKey.sameMaterialAs(key))) {
    throw new ConfigError(TENANT_HMAC_KEY_VARIABLE, 'must differ from every encryption key');
  }
  return { ring, tenantKey };
}

/** For the daemon's start-up: throws the same ConfigError the first crypto call would. */
export function assertCryptoConfig(env: Env = process.env): void {
  loadCryptoConfig(env);
}

let ring: KeyRing | undefined;
let tenantKey: TenantHmacKey | undefined;

/** Installs a configuration (or the one read from `env`) as the process default. */
export function configureCrypto(source: CryptoConfig | Env = process.env): CryptoConfig {
  const config = isCryptoConfig(source) ? source : loadCryptoConfig(source);
  ring = config.ring;
  tenantKey = config.tenantKey;
  return config;
}

/** Forgets the process default, so the next call reads process.env again. */
export function resetCryptoForTests(): void {
  ring = undefined;
  tenantKey = undefined;
}

/** The default key ring; only the encryption variables are needed for it. */
export function defaultKeyRing(): KeyRing {
  return (ring ??= KeyRing.fromEnv(process.env));
}

/** The default tenant HMAC key; only MEMORY_TENANT_HMAC_KEY is needed for it. */
export function defaultTenantKey(): TenantHmacKey {
  return (tenantKey ??= TenantHmacKey.fromBase64(
    process.env[TENANT_HMAC_KEY_VARIABLE],
    TENANT_HMAC_KEY_VARIABLE,
  ));
}

function isCryptoConfig(source: CryptoConfig | Env): source is CryptoConfig {
  return source.ring instanceof KeyRing && source.tenantKey instanceof TenantHmacKey;
}
