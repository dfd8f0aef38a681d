/**
 * The settings listener's connection is killed with pg_terminate_backend; a setting changed while
 * it is down (its NOTIFY lost) and one changed after it returns must both reach the daemon, which
 * re-reads all settings on every reconnect. Runs on the shared test cluster: only this file's
 * database's listener backend is terminated.
 */
import t from 'tap';

import { setSetting } from '../../src/db/procedures.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase } from '../helpers/db.js';

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl });

interface MemoryMetrics {
  settings: { enabled: boolean; circuitMs: number };
  listener: { connected: boolean; reconnects: number };
}

async function metrics(): Promise<MemoryMetrics> {
  return (await api.request('GET', '/metrics/memory')).json as MemoryMetrics;
}

async function waitFor(
  what: string,
  ok: (m: MemoryMetrics) => boolean,
  timeoutMs = 20_000,
): Promise<MemoryMetrics> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await metrics();
    if (ok(m)) return m;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(m)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('settings still propagate after the listener connection is terminated', async (t) => {
  await waitFor('the listener to connect', (m) => m.listener.connected);
  const before = (await metrics()).listener.reconnects;
  const { rows } = await db.admin.query<{ n: number }>(
    "select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = current_database() and application_name = 'memvault-listener'",
  );
  t.equal(rows[0]!.n, 1, 'terminated the one listener backend');
  // Changed at once: most likely while the listener is still down, so its NOTIFY is lost and only
  // the re-read on reconnect can deliver it.
  await setSetting(db.admin, 'rerank_circuit_ms', 777);
  const reconnected = await waitFor(
    'the listener to come back',
    (m) => m.listener.connected && m.listener.reconnects > before,
  );
  t.ok(reconnected.listener.reconnects > before, 'reconnected');
  await waitFor('the change made during the outage', (m) => m.settings.circuitMs === 777);
  t.pass('the setting changed during the outage arrived (catch-up read)');
  await setSetting(db.admin, 'rerank_circuit_ms', 888);
  await waitFor('a change after the reconnect', (m) => m.settings.circuitMs === 888, 5_000);
  t.pass('a setting changed after the reconnect arrives by NOTIFY');
});
