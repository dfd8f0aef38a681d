/** tap's `after` hook for the Citus suites: stops the formation's three clusters (their files stay). */
import { CITUS_HOME, citusFormation } from '../helpers/citus.js';

await (await citusFormation()).stop();
console.log(`# citus formation in ${CITUS_HOME} stopped`);
