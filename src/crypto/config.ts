/**
 * The process-wide crypto configuration behind the module-level `seal`, `openSealed`, `hmacUser`...
 * Crypto reads no environment (the layer does no I/O): whoever owns the process installs one with
 * `configureCrypto` — the daemon with the keys it validated at start (readSecrets in src/config.ts),
 * so a bad key stops it before it serves anything; a library user or a tool with
 * `configureCrypto(process.env)`. Until then every module-level function throws a ConfigError that
 * says so, and the loaders here take the variables as an argument.
 */
import type { Env } from '../env.js';
import { ConfigError } from '../errors.js';
import { TENANT_HMAC_KEY_VARIABLE, TenantHmacKey } from './hmac.js';
import { KEY_VARIABLE, KeyRing, keyRingMaterial } from './key-ring.js';

export interface CryptoConfig {
  readonly ring: KeyRing;
  readonly tenantKey: TenantHmacKey;
}

/**
 * Validates every crypto variable in `env` (the caller's record of variables; nothing is read from
 * the process). Throws a ConfigError naming the first bad variable; the message never contains a
 * value.
 */
export function loadCryptoConfig(env: Env): CryptoConfig {
  const ring = KeyRing.fromEnv(env);
  const tenantKey = TenantHmacKey.fromBase64(env[TENANT_HMAC_KEY_VARIABLE], TENANT_HMAC_KEY_VARIABLE);
  // One key for two algorithms is a classic mistake (usually a copy-paste); refuse it.
  if (keyRingMaterial(ring).some((key) => tenantKey.sameMaterialAs(key))) {
    throw new ConfigError(TENANT_HMAC_KEY_VARIABLE, 'must differ from every encryption key');
  }
  return { ring, tenantKey };
}

let installed: CryptoConfig | undefined;

/**
 * Installs a configuration (or the one validated from `env`) as the process default. A bad `env`
 * throws and leaves the previous default in place.
 */
export function configureCrypto(source: CryptoConfig | Env): CryptoConfig {
  installed = isCryptoConfig(source) ? source : loadCryptoConfig(source);
  return installed;
}

/** Forgets the process default. */
export function resetCryptoForTests(): void {
  installed = undefined;
}

/** The default key ring; ConfigError until `configureCrypto` ran. */
export function defaultKeyRing(): KeyRing {
  return configured(KEY_VARIABLE).ring;
}

/** Whether `configureCrypto` ran in this process. */
export function cryptoConfigured(): boolean {
  return installed !== undefined;
}

/** The default tenant HMAC key; ConfigError until `configureCrypto` ran. */
export function defaultTenantKey(): TenantHmacKey {
  return configured(TENANT_HMAC_KEY_VARIABLE).tenantKey;
}

function configured(variable: string): CryptoConfig {
  if (installed) return installed;
  throw new ConfigError(
    variable,
    'crypto is not configured in this process: call configureCrypto(process.env) (or with a loaded config) first',
  );
}

function isCryptoConfig(source: CryptoConfig | Env): source is CryptoConfig {
  return source.ring instanceof KeyRing && source.tenantKey instanceof TenantHmacKey;
}
