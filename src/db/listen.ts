/**
 * LISTEN on a dedicated connection (never a pooled one): live settings (`memory_settings`) and
 * chunk events (`memory_events`). NOTIFY is not reliable delivery — notifications sent while the
 * connection is down are lost — so every (re)connect, and every settings notification, re-reads
 * all settings through the pool; the notification itself only says "something changed".
 *
 * pg-listen's defaults are the wrong ones for a daemon: it gives up reconnecting after 3 s
 * (retryTimeout) and turns a malformed payload into an `error` event. Here it retries forever
 * with capped exponential backoff, and a bad payload is logged (without its content) and treated
 * as a hint to re-read.
 */
import pgListen, { type Subscriber } from 'pg-listen';

import { log } from '../log.js';
import type { Pool } from './pool.js';
import { getSettings } from './procedures.js';

export const SETTINGS_CHANNEL = 'memory_settings';
export const EVENTS_CHANNEL = 'memory_events';

/**
 * The events memory_events carries. Any role that can connect may NOTIFY on the channel, so only
 * these names ever reach the daemon (and its metrics' labels); anything else is dropped.
 */
export const KNOWN_MEMORY_EVENTS = [
  'chunks_indexed',
  'doc_deleted',
  'tenant_forgotten',
  'tenant_key_rotated',
  'chunk_updated',
  'chunk_deleted',
] as const;
export type MemoryEventName = (typeof KNOWN_MEMORY_EVENTS)[number];

/**
 * A memory_events payload. It names no tenant (db/CONVENTIONS.md): key events list the DEK ids
 * destroyed or replaced, so a daemon drops the cached tenant that holds one of them.
 */
export interface MemoryEvent {
  event: MemoryEventName;
  count?: number;
  dek_ids?: number[];
}

/** The payload as a MemoryEvent, or undefined when it is not one we know (ignored and counted). */
export function parseMemoryEvent(payload: unknown): MemoryEvent | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const p = payload as Record<string, unknown>;
  if (!(KNOWN_MEMORY_EVENTS as readonly unknown[]).includes(p.event)) return undefined;
  const event: MemoryEvent = { event: p.event as MemoryEventName };
  if (typeof p.count === 'number' && Number.isInteger(p.count)) event.count = p.count;
  if (Array.isArray(p.dek_ids)) event.dek_ids = p.dek_ids.filter((id): id is number => Number.isInteger(id));
  return event;
}

export interface ListenerOptions {
  connectionString: string;
  /** The pool the settings are re-read through (memory_app may execute memory.get_settings). */
  pool: Pool;
  /** Called with every key → value read from memory.settings, after each (re)connect and change. */
  onSettings(settings: Record<string, unknown>): void;
  onEvent?(event: MemoryEvent): void;
  /** A memory_events notification that was not a known event (malformed or forged): counted, not logged. */
  onIgnoredEvent?(): void;
  /** Liveness probe interval on the listening connection (finds half-open TCP connections). */
  probeIntervalMs?: number;
  /** Backoff between reconnect attempts: base doubles per attempt up to max. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  connectTimeoutMs?: number;
}

export interface ListenerState {
  connected: boolean;
  /** Completed reconnects since start. */
  reconnects: number;
  /** Settings re-reads that succeeded. */
  settingsReads: number;
  lastSettingsAt: string | null;
}

export interface SettingsListener {
  readonly state: Readonly<ListenerState>;
  /** Re-reads the settings now (also done automatically). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

class ListenerClosed extends Error {}

export interface ResilientSubscriberOptions {
  connectionString: string;
  applicationName: string;
  connectTimeoutMs?: number;
  probeIntervalMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export interface ResilientSubscriber {
  readonly subscriber: Subscriber;
  readonly closed: boolean;
  close(): Promise<void>;
}

/**
 * A pg-listen subscriber on its own connection that keeps reconnecting (capped, jittered
 * exponential backoff) until close(): pg-listen's defaults give up after 3 s. Used by the daemon's
 * settings listener and by `memvault keys worker`.
 */
export function createResilientSubscriber(options: ResilientSubscriberOptions): ResilientSubscriber {
  const base = options.retryBaseMs ?? 100;
  const max = options.retryMaxMs ?? 5_000;
  let closed = false;
  // pg-listen is CommonJS with `exports.default`: from ESM the function sits on `.default`.
  const subscriber: Subscriber = pgListen.default(
    {
      connectionString: options.connectionString,
      application_name: options.applicationName,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    },
    {
      retryTimeout: 0, // 0 = no deadline: a daemon keeps trying until the database is back
      retryLimit: Infinity,
      retryInterval: (attempt: number) => {
        // Throwing here is the only way to stop pg-listen's reconnect loop once we are closing.
        if (closed) throw new ListenerClosed('listener closed');
        return Math.min(max, base * 2 ** Math.min(attempt, 16)) * (0.5 + Math.random() / 2);
      },
      paranoidChecking: options.probeIntervalMs ?? 10_000,
    },
  );
  subscriber.events.on('connected', () => {
    // A reconnect that completed after close(): end that connection too.
    if (closed) void subscriber.close().catch(() => {});
  });
  return {
    subscriber,
    get closed() {
      return closed;
    },
    async close() {
      closed = true;
      await subscriber.close().catch(() => {});
    },
  };
}

/** True for the error pg-listen raises from our retry callback once the subscriber is closed. */
export function isListenerClosedError(error: Error): boolean {
  return error instanceof ListenerClosed;
}

export async function startSettingsListener(options: ListenerOptions): Promise<SettingsListener> {
  let closed = false;
  let everConnected = false;
  const state: ListenerState = { connected: false, reconnects: 0, settingsReads: 0, lastSettingsAt: null };
  const resilient = createResilientSubscriber({
    connectionString: options.connectionString,
    applicationName: 'memvault-listener',
    connectTimeoutMs: options.connectTimeoutMs,
    probeIntervalMs: options.probeIntervalMs,
    retryBaseMs: options.retryBaseMs,
    retryMaxMs: options.retryMaxMs,
  });
  const { subscriber } = resilient;

  // Re-reads are serialised, and a change that arrives during a read triggers one more read, so
  // the last read always starts after the last notification.
  let reading: Promise<void> | undefined;
  let again = false;
  const refresh = (): Promise<void> => {
    if (reading) {
      again = true;
      return reading;
    }
    reading = (async () => {
      do {
        again = false;
        try {
          const settings = await getSettings(options.pool);
          if (closed) return;
          state.settingsReads++;
          state.lastSettingsAt = new Date().toISOString();
          options.onSettings(settings);
        } catch (thrown) {
          // The pool may be down too; the next (re)connect or notification retries.
          log.warn({ code: (thrown as { code?: string }).code }, 'could not re-read memory.settings');
        }
      } while (again && !closed);
    })().finally(() => {
      reading = undefined;
    });
    return reading;
  };

  subscriber.events.on('connected', () => {
    if (closed) return;
    if (everConnected && !state.connected) {
      state.reconnects++;
      log.info({ reconnects: state.reconnects }, 'settings listener reconnected');
    }
    everConnected = true;
    state.connected = true;
    void refresh();
  });
  subscriber.events.on('reconnect', (attempt) => {
    if (state.connected) log.warn('settings listener lost its connection; reconnecting');
    state.connected = false;
    if (attempt > 1 && attempt % 10 === 0) log.warn({ attempt }, 'settings listener still reconnecting');
  });
  subscriber.events.on('error', (error) => {
    if (isListenerClosedError(error) || closed) return;
    if (/parsing PostgreSQL notification payload/.test(error.message)) {
      // Never log the payload or the parser's message (it quotes the payload), and never once per
      // notification: any role that can connect may send thousands. Counted, and a hint to re-read.
      options.onIgnoredEvent?.();
      void refresh();
      return;
    }
    log.error({ err: { name: error.name } }, 'settings listener error');
  });
  subscriber.notifications.on(SETTINGS_CHANNEL, () => void refresh());
  subscriber.notifications.on(EVENTS_CHANNEL, (payload: unknown) => {
    const event = parseMemoryEvent(payload);
    if (event) options.onEvent?.(event);
    else options.onIgnoredEvent?.();
  });

  await subscriber.connect();
  await subscriber.listenTo(SETTINGS_CHANNEL);
  await subscriber.listenTo(EVENTS_CHANNEL);
  await refresh(); // the 'connected' refresh ran before LISTEN; read once more after it

  return {
    state,
    refresh,
    async close() {
      if (closed) return;
      closed = true;
      state.connected = false;
      await resilient.close();
      await reading;
    },
  };
}
