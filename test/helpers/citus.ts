/**
 * The Citus formation of the test/citus/ suites: a coordinator and two workers under
 * MEMVAULT_TEST_HOME/citus, created and started by test/citus/setup.ts (the suites' tap `before`),
 * reused by every test file. Needs the citus extension (`npm run test:citus` builds it when missing).
 */
import { join } from 'node:path';

import { type CitusFormation, startCitusFormation } from '../../src/bench/citus.js';
import { TEST_HOME } from './cluster.js';

export const CITUS_HOME = join(TEST_HOME, 'citus');
export const CITUS_WORKERS = 2;

export function citusFormation(): Promise<CitusFormation> {
  return startCitusFormation(CITUS_HOME, CITUS_WORKERS);
}
