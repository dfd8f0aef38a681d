/** test/http/chunks.test.ts, unchanged, through pgbouncer in transaction mode (test/helpers/pooler-suite.ts). */
import { throughPgbouncer } from '../helpers/pooler-suite.js';

await throughPgbouncer(() => import('../http/chunks.test.js'));
