/**
 * Daemon configuration: validated once, errors name the variable and never echo a value; the
 * embedded default generates its secrets once (mode 0600); `memvault serve` exits with the
 * documented codes (78 configuration, 69 database unreachable).
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import t from 'tap';

import {
  embeddedSchemaDim,
  ensureEmbeddedSecrets,
  readDaemonSettings,
  readSecrets,
} from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { spawnTestDaemon, TEST_SECRETS } from '../helpers/daemon.js';
import { createTestDatabase } from '../helpers/db.js';

/** The variable a ConfigError names, or undefined when fn does not throw one. */
function variableOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.variable;
    throw error;
  }
  return undefined;
}

t.test('defaults: 127.0.0.1:7420, pool of 10, no embedder', async (t) => {
  const s = readDaemonSettings({});
  t.match(s, {
    host: '127.0.0.1',
    port: 7420,
    poolMax: 10,
    databaseUrl: undefined,
    embed: undefined,
    embeddingDim: 384,
  });
});

t.test(
  'a malformed value stops start-up with a ConfigError naming the variable, not the value',
  async (t) => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ MEMVAULT_PORT: 'seventy' }, 'MEMVAULT_PORT'],
      [{ MEMVAULT_PORT: '70000' }, 'MEMVAULT_PORT'],
      [{ MEMVAULT_DB_POOL_MAX: '0' }, 'MEMVAULT_DB_POOL_MAX'],
      [{ MEMVAULT_HOST: 'bad host!' }, 'MEMVAULT_HOST'],
      [{ MEMVAULT_EMBED_MODEL: '/m', MEMVAULT_EMBED_DEVICE: 'tpu' }, 'MEMVAULT_EMBED_DEVICE'],
      [{ RERANK_ENABLED: 'perhaps' }, 'RERANK_ENABLED'],
      [{ RERANK_CIRCUIT_MS: '-5' }, 'RERANK_CIRCUIT_MS'],
    ];
    for (const [env, variable] of cases) {
      t.equal(
        variableOf(() => readDaemonSettings(env)),
        variable,
        variable,
      );
      try {
        readDaemonSettings(env);
      } catch (error) {
        for (const value of Object.values(env))
          t.notMatch((error as Error).message, value, 'value not echoed');
      }
    }
  },
);

t.test(
  "a fresh embedded schema takes the embedder's dimension, else MEMVAULT_EMBEDDING_DIM (384)",
  async (t) => {
    // The one rule `memvault start` and `memvault db up` share (test/cli/db.test.ts runs db up).
    t.equal(embeddedSchemaDim(readDaemonSettings({}), undefined), 384);
    t.equal(embeddedSchemaDim(readDaemonSettings({ MEMVAULT_EMBEDDING_DIM: '768' }), undefined), 768);
    t.equal(
      embeddedSchemaDim(readDaemonSettings({ MEMVAULT_EMBEDDING_DIM: '768' }), { dimension: 512 }),
      512,
      'the embedder wins: the daemon refuses a schema its vectors do not fit',
    );
  },
);

t.test('with DATABASE_URL, missing or malformed secrets are fatal and named', async (t) => {
  const { MEMVAULT_API_TOKEN: _token, ...noToken } = TEST_SECRETS;
  t.equal(
    variableOf(() => readSecrets(noToken)),
    'MEMVAULT_API_TOKEN',
  );
  t.equal(
    variableOf(() => readSecrets({ ...TEST_SECRETS, MEMVAULT_API_TOKEN: 'short' })),
    'MEMVAULT_API_TOKEN',
  );
  t.equal(
    variableOf(() => readSecrets({ ...TEST_SECRETS, MEMORY_ENCRYPTION_KEY: undefined as unknown as string })),
    'MEMORY_ENCRYPTION_KEY',
  );
  t.equal(
    variableOf(() => readSecrets({ ...TEST_SECRETS, MEMORY_TENANT_HMAC_KEY: 'bm90IGEga2V5' })),
    'MEMORY_TENANT_HMAC_KEY',
  );
  const secrets = readSecrets(TEST_SECRETS);
  t.equal(secrets.apiToken, TEST_SECRETS.MEMVAULT_API_TOKEN);
  t.notMatch(JSON.stringify(secrets), TEST_SECRETS.MEMVAULT_API_TOKEN, 'the token is not enumerable');
});

t.test(
  'the embedded default generates missing secrets once, mode 0600, and the environment wins',
  async (t) => {
    const home = mkdtempSync(path.join(tmpdir(), 'mv-home-'));
    t.teardown(() => import('node:fs/promises').then((fs) => fs.rm(home, { recursive: true, force: true })));
    const first = await ensureEmbeddedSecrets(home, {});
    t.same(first.generated.sort(), ['MEMORY_ENCRYPTION_KEY', 'MEMORY_TENANT_HMAC_KEY', 'MEMVAULT_API_TOKEN']);
    t.equal(statSync(first.file).mode & 0o777, 0o600);
    t.doesNotThrow(() => readSecrets(first.env), 'the generated secrets are valid');
    const second = await ensureEmbeddedSecrets(home, {});
    t.same(second.generated, [], 'nothing generated the second time');
    t.equal(second.env.MEMORY_ENCRYPTION_KEY, first.env.MEMORY_ENCRYPTION_KEY, 'the same key is reused');
    const overridden = await ensureEmbeddedSecrets(home, { MEMVAULT_API_TOKEN: 'from-the-environment-123' });
    t.equal(overridden.env.MEMVAULT_API_TOKEN, 'from-the-environment-123');
    t.notMatch(
      readFileSync(first.file, 'utf8'),
      'from-the-environment',
      'an environment value is not written to the file',
    );
  },
);

t.test('serve exits 78 on a configuration error, naming the variable', async (t) => {
  const db = await createTestDatabase(t);
  const error = await spawnTestDaemon(t, {
    databaseUrl: db.appUrl,
    env: { MEMORY_ENCRYPTION_KEY: 'dG9vIHNob3J0' },
  }).catch((e: Error) => e);
  t.type(error, Error);
  t.match((error as Error).message, /exited with 78/);
  t.match((error as Error).message, /MEMORY_ENCRYPTION_KEY/);
  t.notMatch((error as Error).message, /dG9vIHNob3J0/, 'the value is not printed');
});

t.test('serve exits 69 when the database is unreachable at start', async (t) => {
  const started = Date.now();
  const error = await spawnTestDaemon(t, {
    databaseUrl: 'postgresql://memory_app@127.0.0.1:1/none',
    env: { MEMVAULT_DB_CONNECT_TIMEOUT_MS: '500' },
  }).catch((e: Error) => e);
  t.match((error as Error).message, /exited with 69/);
  t.ok(
    Date.now() - started < 60_000,
    'exits, does not hang (a generous bound: a busy machine starts node slowly)',
  );
});

t.test('ConfigError is what the config readers throw', async (t) => {
  t.throws(() => readDaemonSettings({ MEMVAULT_PORT: 'x' }), ConfigError);
});
