/**
 * tap's `before` hook for the Citus suites (`npm run test:citus`): creates (first time) and starts
 * the formation every test file then uses, so files running in parallel never race to create it.
 */
import { CITUS_HOME, citusFormation } from '../helpers/citus.js';

const started = Date.now();
const formation = await citusFormation();
console.log(
  `# citus formation ready in ${CITUS_HOME}: coordinator :${formation.coordinator.port}, ` +
    `workers ${formation.workers.map((w) => `:${w.port}`).join(' ')} (${Date.now() - started} ms)`,
);
