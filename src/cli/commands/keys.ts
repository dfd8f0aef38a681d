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
import { progressBar } from '../progress.js';

export const summary = 'key ring over time: status | rotate [--to ID] | retire ID | worker';

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function parseId(text: string | undefined, what: string): number {
  const id = Number(text);
  if (!Number.isInteger(id) || id < 1) throw new RangeError(`${what} must be a key id (a positive integer)`);
  return id;
}

export async function run(args: string[]): Promise<number> {
  const [action = 'status'] = args;
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
        const target = flag(args, '--to');
        const rotated = target === undefined ? ring : ring.withActiveKey(parseId(target, '--to'));
        const batchSize = flag(args, '--batch') ? parseId(flag(args, '--batch'), '--batch') : undefined;
        const done = await rotateKek(pool, rotated, { batchSize, onProgress: progressBar('rewrap') });
        await notifyKeyJobs(pool, 'rewrap');
        console.log(`key ${rotated.activeKeyId} is active; re-wrapped ${done} tenant key(s)`);
        return 0;
      }
      case 'retire': {
        const id = parseId(args[1], 'the key id to retire');
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
      default:
        console.error(`memvault keys: unknown action '${action}' (status, rotate, retire, worker)`);
        return 2;
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
