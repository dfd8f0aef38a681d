/** test/memory/write-path.test.ts, unchanged, through pgbouncer in transaction mode (test/helpers/pooler-suite.ts). */
import { throughPgbouncer } from '../helpers/pooler-suite.js';

await throughPgbouncer(() => import('../memory/write-path.test.js'));
