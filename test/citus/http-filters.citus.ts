/** test/http/filters.test.ts, unchanged, on a Citus coordinator + 2 workers (test/helpers/citus-suite.ts). */
import { onCitus } from '../helpers/citus-suite.js';

await onCitus(() => import('../http/filters.test.js'));
