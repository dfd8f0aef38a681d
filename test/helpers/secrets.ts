/**
 * One set of keys per test process (the crypto configuration is process-wide): the daemons a test
 * starts use them, and so does the process itself when it calls procedures directly — a tenant
 * procedure needs the tenant's proof, derived from MEMORY_TENANT_HMAC_KEY (docs/CRYPTO.md).
 */
import { randomBytes } from 'node:crypto';

import { cryptoConfigured } from '../../src/crypto/config.js';
import { configureCrypto, generateKeyBase64 } from '../../src/crypto/index.js';

export const TEST_SECRETS = {
  MEMORY_ENCRYPTION_KEY: generateKeyBase64(),
  MEMORY_TENANT_HMAC_KEY: generateKeyBase64(),
  MEMVAULT_API_TOKEN: randomBytes(24).toString('base64url'),
};

/** Configures this process's crypto with TEST_SECRETS unless a test configured its own. */
export function ensureTestCrypto(): void {
  if (!cryptoConfigured()) configureCrypto({ ...TEST_SECRETS });
}
