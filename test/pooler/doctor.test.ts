/**
 * `memvault doctor` through a real pgbouncer: it says it is talking to pgbouncer, passes every
 * database check through it, and calls the setup safe only with transactions working and LISTEN on
 * a direct MEMVAULT_LISTEN_URL.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import t from 'tap';

import { checkPooler } from '../../src/db/pooler.js';
import { packageRoot } from '../../src/paths.js';
import { createTestDatabase } from '../helpers/db.js';
import { startPgbouncer } from '../helpers/pgbouncer.js';

process.env.MEMVAULT_TEST_VIA = 'pgbouncer';
const db = await createTestDatabase(t);
const run = promisify(execFile);

async function doctor(env: Record<string, string>): Promise<{ code: number; stdout: string }> {
  const { MEMVAULT_LISTEN_URL: _ignored, ...inherited } = process.env;
  try {
    const { stdout } = await run(process.execPath, [join(packageRoot, 'dist/cli/main.js'), 'doctor'], {
      env: { ...inherited, ...env },
    });
    return { code: 0, stdout };
  } catch (thrown) {
    const failed = thrown as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}

const poolerLine = (stdout: string) => stdout.split('\n').find((l) => / pooler +/.test(l)) ?? '';

t.test('through pgbouncer with a direct MEMVAULT_LISTEN_URL: every check passes, pooler safe', async (t) => {
  const { code, stdout } = await doctor({ DATABASE_URL: db.appUrl, MEMVAULT_LISTEN_URL: db.listenUrl });
  t.equal(code, 0, stdout);
  t.match(
    poolerLine(stdout),
    /^ok +pooler +pgbouncer \(it refused a statement_timeout startup parameter\): safe/,
  );
  t.notMatch(stdout, /FAIL/);
});

t.test('without MEMVAULT_LISTEN_URL the pooler line fails and says why', async (t) => {
  const { code, stdout } = await doctor({ DATABASE_URL: db.appUrl });
  t.equal(code, 1);
  t.match(poolerLine(stdout), /^FAIL pooler +pgbouncer .*MEMVAULT_LISTEN_URL is unset/);
  t.equal(stdout.split('\n').filter((l) => l.startsWith('FAIL')).length, 1, 'only the pooler line fails');
});

t.test('a MEMVAULT_LISTEN_URL through the pooler too is refused', async (t) => {
  const check = await checkPooler(db.appUrl, db.appUrl);
  t.equal(check.ok, false);
  t.match(check.detail, /MEMVAULT_LISTEN_URL goes through pgbouncer/);
});

t.test('statement pooling is detected as unsafe (it refuses multi-statement transactions)', async (t) => {
  const statementMode = await startPgbouncer(t, { poolMode: 'statement' });
  const check = await checkPooler(statementMode.url('memory_app', db.name), db.listenUrl);
  t.equal(check.ok, false);
  t.match(check.detail, /refuses multi-statement transactions/);
  await statementMode.stop();
});

t.test('a direct connection is reported as such', async (t) => {
  t.same(await checkPooler(db.listenUrl, undefined), {
    ok: true,
    detail: 'direct connection to PostgreSQL (no pooler detected)',
  });
});
