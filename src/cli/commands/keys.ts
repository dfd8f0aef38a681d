/**
 * `memvault keys status | rotate [--to ID] | retire ID | worker`: the key-encryption keys (the key
 * ring) over time. See docs/KEYS.md.
 */
import { LISTEN_URL_VARIABLE } from '../../config.js';
import { KeyRing } from '../../crypto/index.js';
import { notifyKeyJobs } from '../../db/keys.js';
import { createResilientSubscriber, isListenerClosedError } from '../../db/listen.js';
import type { Pool } from '../../db/pool.js';
import { getSettings } from '../../db/procedures.js';
import { envString } from '../../env.js';
import { coerceError } from '../../errors.js';
import { jobKeyRing, storedActiveKekId } from '../../keys/active-ring.js';
import { maintenancePool, maintenanceUrl } from '../../keys/connection.js';
import { keyStatsPublisher } from '../../keys/key-stats.js';
import { resealChunks } from '../../keys/reseal.js';
import { retiredKeks } from '../../keys/retirement.js';
import { pendingRewrap, retire, rewrapPending, rotateKek, usage } from '../../keys/rotate.js';
import { log } from '../../log.js';
import { parseCommand, positiveInt, subcommand } from '../args.js';
import { progressBar } from '../progress.js';

export const summary = 'key ring over time: status | rotate [--to ID] | retire ID | worker';

const USAGE = [
  'usage: memvault keys status',
  '       memvault keys rotate [--to ID] [--batch N]   make key ID (default: the active key of',
  '                                                    MEMORY_ENCRYPTION_KEYS) active and re-wrap every DEK',
  '       memvault keys retire ID                      refuse key ID for good (once nothing needs it)',
  '       memvault keys worker                         re-wrap and re-seal whenever a job is announced',
  'See docs/KEYS.md.',
].join('\n');

/** A key-ring key id on the command line: a positive integer (crypto/ checks it is in the ring). */
function keyId(value: string | undefined, what: string): number | undefined {
  return positiveInt(value, what, USAGE);
}

export async function run(args: string[]): Promise<number> {
  const action =
    args.length === 0 ? 'status' : subcommand(args, ['status', 'rotate', 'retire', 'worker'], USAGE);
  // Everything is parsed before a key is read or a connection made.
  const { values, positionals } = parseCommand(args.slice(1), {
    usage: USAGE,
    options: action === 'rotate' ? { to: { type: 'string' }, batch: { type: 'string' } } : {},
    positionals: action === 'retire' ? { min: 1, max: 1, names: ['the key id to retire (ID)'] } : {},
  });
  const target = keyId(values.to as string | undefined, '--to');
  const batchSize = positiveInt(values.batch as string | undefined, '--batch', USAGE);
  const retireId = action === 'retire' ? keyId(positionals[0], 'the key id to retire') : undefined;
  const ring = KeyRing.fromEnv(process.env);
  const pool = await maintenancePool();
  try {
    switch (action) {
      case 'status': {
        const settings = await getSettings(pool);
        console.log(
          `key ring ids: ${ring.keyIds.join(', ')}; active here: ${ring.activeKeyId}; active_kek_id setting: ${settings.active_kek_id ?? 'unset'}`,
        );
        const retired = new Set(await retiredKeks(pool));
        for (const u of await usage(pool)) {
          console.log(
            `key ${u.kekId}: wraps ${u.wrappedDeks} tenant key(s); seals ${u.legacyChunks} legacy chunk(s)${retired.has(u.kekId) ? ' (RETIRED)' : ''}`,
          );
        }
        if (retired.size) console.log(`retired key ids: ${[...retired].join(', ')}`);
        // The daemons' /metrics read these counts (memvault_key_*); refresh them while we are here.
        await keyStatsPublisher(pool)(true);
        return 0;
      }
      case 'rotate': {
        const rotated = target === undefined ? ring : ring.withActiveKey(target);
        const done = await rotateKek(pool, rotated, { batchSize, onProgress: progressBar('rewrap') });
        await notifyKeyJobs(pool, 'rewrap');
        console.log(`key ${rotated.activeKeyId} is active; re-wrapped ${done} tenant key(s)`);
        return 0;
      }
      case 'retire': {
        const id = retireId!;
        const active = storedActiveKekId(await getSettings(pool)) ?? ring.activeKeyId;
        const newly = await retire(pool, id, active);
        console.log(
          `key ${id} ${newly ? 'is now retired' : 'was already retired'}: nothing can be wrapped or sealed under it any more. ` +
            'Remove it from MEMORY_ENCRYPTION_KEYS on every host, then destroy it',
        );
        return 0;
      }
      case 'worker':
        return await worker(pool, ring);
    }
  } finally {
    await pool.end();
  }
}

/**
 * Processes pending re-wrap and re-seal work whenever a NOTIFY on memory_jobs arrives (and once at
 * start, and every minute as a safety net since NOTIFY is not reliable delivery). Run one per host
 * or several: claims are SKIP LOCKED.
 */
async function worker(pool: Pool, envRing: KeyRing): Promise<number> {
  const listener = createResilientSubscriber({
    // LISTEN needs a session of its own: MEMVAULT_LISTEN_URL when the maintenance URL is a pooler.
    connectionString: envString(process.env, LISTEN_URL_VARIABLE) ?? (await maintenanceUrl()),
    applicationName: 'memvault-keys-worker',
  });
  const { subscriber } = listener;
  let running = false;
  let again = false;
  const runOnce = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const ring = jobKeyRing(envRing, await getSettings(pool));
        const rewrapped = await rewrapPending(pool, ring, await pendingRewrap(pool, ring.activeKeyId));
        const legacy = (await usage(pool)).reduce((n, u) => n + u.legacyChunks, 0);
        const resealed = await resealChunks(pool, ring, { total: legacy });
        if (rewrapped || resealed) log.info({ rewrapped, resealed }, 'key worker pass');
      } while (again);
    } catch (thrown) {
      log.error({ err: coerceError(thrown).message }, 'key worker pass failed; will retry');
    } finally {
      running = false;
    }
  };
  subscriber.events.on('error', (error: Error) => {
    if (!isListenerClosedError(error)) log.warn({ err: error.name }, 'key worker listener error');
  });
  subscriber.events.on('connected', () => void runOnce());
  subscriber.notifications.on('memory_jobs', () => void runOnce());
  await subscriber.connect();
  await subscriber.listenTo('memory_jobs');
  const timer = setInterval(() => void runOnce(), 60_000);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  clearInterval(timer);
  await listener.close();
  return 0;
}
