/**
 * The embedded cluster signs every role in by password (issue 11, item 8). Before, pg_hba.conf said
 * `local all all trust`: any process that reached the private socket (every process of the server's
 * OS user) was any role, the superuser included, with no password at all.
 *
 * On the suite's own cluster (made by the same startCluster as `npm start`'s): no trust rule is
 * left, a connection without the password or with a wrong one is refused by the server (28P01) on
 * the socket and on loopback, the right one works, and the passwords sit in secrets.env (0600).
 * Then on a private cluster: one made before passwords (trust, no passwords, none in secrets.env)
 * is moved over by its next start.
 */
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import pg from 'pg';
import t from 'tap';

import {
  CLUSTER_PASSWORD_VARIABLES,
  clusterPaths,
  type ClusterRole,
  clusterUrl,
  readState,
  startCluster,
} from '../../src/db/cluster.js';
import { privateCluster } from '../faults/private-cluster.js';
import { testCluster } from '../helpers/cluster.js';

const ROLES = Object.keys(CLUSTER_PASSWORD_VARIABLES) as ClusterRole[];
/**
 * pg does not send an empty password, so "no password" ends in the client once the server has
 * asked for one (a SCRAM challenge); under trust the server asks nothing and the connection works.
 */
const SERVER_ASKED = /^client: SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be/;

/** The server's answer to signing in: 'ok' or the SQLSTATE (28P01: password authentication failed). */
async function signIn(config: pg.ClientConfig): Promise<string> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return 'ok';
  } catch (thrown) {
    return (thrown as { code?: string }).code ?? `client: ${(thrown as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

t.test('the test cluster has no trust rule and refuses a missing or wrong password', async (t) => {
  const cluster = await testCluster();
  const admin = new pg.Client({ connectionString: cluster.adminUrl('postgres') });
  await admin.connect();
  const { rows: rules } = await admin.query<{ type: string; auth_method: string }>(
    'select type, auth_method from pg_hba_file_rules where error is null',
  );
  await admin.end();
  t.ok(rules.length >= 2, `${rules.length} pg_hba rules`);
  t.same(
    rules.filter((r) => r.auth_method !== 'scram-sha-256'),
    [],
    'every rule (socket and loopback) is scram-sha-256: no trust, peer or md5',
  );

  for (const role of ROLES) {
    const password = cluster.state.passwords[role];
    t.ok(password && password.length >= 32, `${role} has a generated password`);
    const socket = {
      host: cluster.paths.socketDir,
      port: cluster.state.port,
      user: role,
      database: 'postgres',
    };
    const loopback = { ...socket, host: '127.0.0.1' };
    for (const [where, at] of [
      ['socket', socket],
      ['loopback', loopback],
    ] as const) {
      t.match(await signIn(at), SERVER_ASKED, `${role}, ${where}, no password: the server asks for one`);
      t.equal(
        await signIn({ ...at, password: 'wrong' }),
        '28P01',
        `${role}, ${where}: a wrong password is refused`,
      );
      t.equal(await signIn({ ...at, password }), 'ok', `${role}, ${where}: its password works`);
    }
  }

  const file = join(cluster.paths.home, 'secrets.env');
  t.equal((await stat(file)).mode & 0o777, 0o600, 'secrets.env is private to its owner');
});

t.test('a cluster made before passwords (local trust) is moved over on its next start', async (t) => {
  const cluster = await privateCluster(t);
  const paths = clusterPaths(cluster.home);
  // Put it back to what earlier versions made: initdb's trust rules, no passwords anywhere.
  await writeFile(
    join(paths.dataDir, 'pg_hba.conf'),
    'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nlocal replication all trust\n',
  );
  await cluster.admin.query('select pg_reload_conf()');
  for (const role of ROLES) await cluster.admin.query(`alter role ${role} password null`);
  await writeFile(join(cluster.home, 'secrets.env'), '# keys only, as before\n', { mode: 0o600 });
  const old = (await readState(paths))!;
  t.same(old.passwords, {}, 'no passwords in secrets.env');
  // Reloads are asynchronous: wait until trust is in force, so the check below means something.
  const bare = clusterUrl(paths, old, 'memory_app', 'postgres');
  const deadline = Date.now() + 10_000;
  while ((await signIn({ connectionString: bare })) !== 'ok' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(
    await signIn({ connectionString: bare }),
    'ok',
    'the old cluster lets memory_app in without a password',
  );

  const { state } = await startCluster(cluster.home);
  for (const role of ROLES) {
    t.ok(state.passwords[role], `${role}: a password generated into secrets.env`);
    const at = { host: paths.socketDir, port: state.port, user: role, database: 'postgres' };
    t.match(await signIn(at), SERVER_ASKED, `${role}: without a password, the server asks for one`);
    t.equal(await signIn({ ...at, password: 'wrong' }), '28P01', `${role}: a wrong password is refused`);
    t.equal(
      await signIn({ ...at, password: state.passwords[role]! }),
      'ok',
      `${role}: its new password works`,
    );
  }
  t.same(
    (await readState(paths))!.passwords,
    state.passwords,
    'what secrets.env holds is what the roles have',
  );
});
