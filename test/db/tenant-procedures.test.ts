/**
 * Every procedure memory_app may call for one tenant (first argument p_user_hash) checks the
 * tenant's proof, and `call` (src/db/procedures.ts) enters the tenant with it only for the names
 * in TENANT_PROCEDURES. A tenant procedure missing from that list would be refused (MV014) on its
 * first call from the daemon; one listed that the database lacks is stale. Compare both ways.
 */
import t from 'tap';

import { TENANT_PROCEDURES } from '../../src/db/tenant.js';
import { createTestDatabase } from '../helpers/db.js';

const db = await createTestDatabase(t);

t.test('TENANT_PROCEDURES is exactly the tenant procedures memory_app may execute', async (t) => {
  const { rows } = await db.admin.query<{ name: string }>(
    `select distinct p.proname as name
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'memory' and p.proargnames[1] = 'p_user_hash' and p.pronargdefaults < p.pronargs
       and p.proname <> 'set_tenant'
       and has_function_privilege('memory_app', p.oid, 'execute')
     order by 1`,
  );
  t.ok(rows.length > 20, `the database lists its tenant procedures (${rows.length})`);
  t.same(
    rows.map((r) => r.name),
    [...TENANT_PROCEDURES].sort(),
  );
});
