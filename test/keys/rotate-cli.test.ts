/**
 * `memvault keys rotate --to=3` rotates to key 3 even when the environment's active key is another
 * (the hand-written parser used to ignore `--to=3` and rotate to the environment's key).
 */
import t from 'tap';

import * as procedures from '../../src/db/procedures.js';
import { usage } from '../../src/keys/rotate.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { createTestDatabase, randomUserHash } from '../helpers/db.js';
import { cliEnv, openAll, ringOf, runCli, writeChunks } from './fixtures.js';

const db = await createTestDatabase(t);
const writer = new TenantKeyStore(db.app, () => ringOf([1], 1));
const tenant = randomUserHash();
const ids = await writeChunks(db, writer, tenant, 2);

t.test('keys rotate --to=3 makes key 3 active and re-wraps every DEK under it', async (t) => {
  // The environment holds keys 1, 2 and 3 and names 2 as active: only --to=3 can choose 3.
  const res = await runCli(['keys', 'rotate', '--to=3', '--batch=5'], cliEnv(db, [1, 2, 3], 2));
  t.equal(res.code, 0, 'exit 0', { stderr: res.stderr });
  t.match(res.stdout, /key 3 is active; re-wrapped 1 tenant key\(s\)/);
  t.equal((await procedures.getSettings(db.app)).active_kek_id, 3, 'active_kek_id is 3');
  const deks = (await usage(db.admin)).filter((u) => u.wrappedDeks > 0);
  t.same(
    deks.map((u) => u.kekId),
    [3],
    'every DEK is wrapped under key 3',
  );
  t.equal((await openAll(db, ringOf([3], 3), tenant, ids)).length, 2, 'the chunks open with key 3 alone');
});
