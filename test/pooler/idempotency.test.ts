/**
 * test/http/idempotency.test.ts, unchanged, through pgbouncer in transaction mode: the claim, the
 * write and the record share one transaction, so they share one server connection too.
 */
import { throughPgbouncer } from '../helpers/pooler-suite.js';

await throughPgbouncer(() => import('../http/idempotency.test.js'));
