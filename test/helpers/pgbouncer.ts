/** pgbouncer in front of the test cluster (src/bench/pgbouncer.ts), for the test/pooler/ suites. */
import { type Pgbouncer, startPgbouncer as start } from '../../src/bench/pgbouncer.js';
import { TEST_HOME } from './cluster.js';

export type { Pgbouncer } from '../../src/bench/pgbouncer.js';

interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

export function startPgbouncer(
  t: Teardown,
  options: { poolMode?: 'transaction' | 'session' | 'statement'; poolSize?: number } = {},
): Promise<Pgbouncer> {
  return start(t, { clusterHome: TEST_HOME, ...options });
}
