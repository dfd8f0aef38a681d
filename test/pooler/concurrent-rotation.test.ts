/** test/keys/concurrent-rotation.test.ts (key CLI + worker), unchanged, through pgbouncer in transaction mode. */
import { throughPgbouncer } from '../helpers/pooler-suite.js';

await throughPgbouncer(() => import('../keys/concurrent-rotation.test.js'));
