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
 *
 * On Citus the tenant procedures run on the workers, and the `memory_events` they raise are
 * delivered there (src/db/citus-nodes.ts): the listener also LISTENs on `memory_events` on every
 * worker the coordinator names, re-reading that list every `workerRefreshMs`.
 */
import pgListen, { type Subscriber } from 'pg-listen';

import { log } from '../log.js';
import { type CitusNode, citusWorkers, connectionTo } from './citus-nodes.js';
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
  /** How often the Citus worker list is re-read (workers added or removed). */
  workerRefreshMs?: number;
}

export interface ListenerState {
  connected: boolean;
  /** Completed reconnects since start. */
  reconnects: number;
  /** Settings re-reads that succeeded. */
  settingsReads: number;
  lastSettingsAt: string | null;
  /** On Citus only: the workers whose memory_events are listened to, and how many are connected. */
  citusWorkers?: { workers: number; connected: number };
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
  /** Connect to this node instead of the host and port `connectionString` names. */
  node?: CitusNode;
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
      ...(options.node
        ? connectionTo(options.connectionString, options.node)
        : { connectionString: options.connectionString }),
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
    if (isMalformedPayloadError(error)) {
      // Never log the payload or the parser's message (it quotes the payload), and never once per
      // notification: any role that can connect may send thousands. Counted, and a hint to re-read.
      options.onIgnoredEvent?.();
      void refresh();
      return;
    }
    log.error({ err: { name: error.name } }, 'settings listener error');
  });
  const onEventPayload = (payload: unknown) => {
    const event = parseMemoryEvent(payload);
    if (event) options.onEvent?.(event);
    else options.onIgnoredEvent?.();
  };
  subscriber.notifications.on(SETTINGS_CHANNEL, () => void refresh());
  subscriber.notifications.on(EVENTS_CHANNEL, onEventPayload);

  await subscriber.connect();
  await subscriber.listenTo(SETTINGS_CHANNEL);
  await subscriber.listenTo(EVENTS_CHANNEL);
  await refresh(); // the 'connected' refresh ran before LISTEN; read once more after it
  const workers = await listenOnCitusWorkers(options, state, onEventPayload);

  return {
    state,
    refresh,
    async close() {
      if (closed) return;
      closed = true;
      state.connected = false;
      await workers.close();
      await resilient.close();
      await reading;
    },
  };
}

function isMalformedPayloadError(error: Error): boolean {
  return /parsing PostgreSQL notification payload/.test(error.message);
}

/**
 * LISTEN on memory_events on every Citus worker (nothing on one server): a subscriber per worker,
 * each reconnecting on its own; the worker list re-read every `workerRefreshMs`. A worker that
 * cannot be reached is logged (host and port only) and tried again at the next re-read; it never
 * stops the daemon, whose readiness reports `citusWorkers`.
 */
async function listenOnCitusWorkers(
  options: ListenerOptions,
  state: ListenerState,
  onEventPayload: (payload: unknown) => void,
): Promise<{ close(): Promise<void> }> {
  const subscribers = new Map<string, ResilientSubscriber>();
  const connected = new Set<string>();
  let closed = false;
  let known = 0;
  const report = () => {
    state.citusWorkers = { workers: known, connected: connected.size };
  };

  const listenOn = async (key: string, node: CitusNode) => {
    const resilient = createResilientSubscriber({
      connectionString: options.connectionString,
      node,
      applicationName: 'memvault-listener',
      connectTimeoutMs: options.connectTimeoutMs,
      probeIntervalMs: options.probeIntervalMs,
      retryBaseMs: options.retryBaseMs,
      retryMaxMs: options.retryMaxMs,
    });
    const { subscriber } = resilient;
    subscriber.events.on('connected', () => {
      connected.add(key);
      report();
    });
    subscriber.events.on('reconnect', () => {
      if (connected.delete(key)) log.warn({ worker: key }, 'Citus worker event listener reconnecting');
      report();
    });
    subscriber.events.on('error', (error) => {
      if (isListenerClosedError(error) || closed || resilient.closed) return;
      if (isMalformedPayloadError(error)) return options.onIgnoredEvent?.();
      log.error({ err: { name: error.name }, worker: key }, 'Citus worker event listener error');
    });
    subscriber.notifications.on(EVENTS_CHANNEL, onEventPayload);
    subscribers.set(key, resilient);
    try {
      await subscriber.connect();
      await subscriber.listenTo(EVENTS_CHANNEL);
    } catch (thrown) {
      // The first connect is not retried by pg-listen: drop it, the next re-read tries again.
      log.warn({ worker: key, code: (thrown as { code?: string }).code }, 'cannot listen on a Citus worker');
      subscribers.delete(key);
      connected.delete(key);
      await resilient.close();
    }
    report();
  };

  let syncing: Promise<void> | undefined;
  const sync = () =>
    (syncing ??= (async () => {
      let nodes: CitusNode[];
      try {
        nodes = await citusWorkers(options.pool);
      } catch (thrown) {
        log.warn({ code: (thrown as { code?: string }).code }, 'could not read the Citus workers');
        return;
      }
      const wanted = new Map(nodes.map((n) => [`${n.host}:${n.port}`, n]));
      known = wanted.size;
      for (const [key, resilient] of subscribers) {
        if (wanted.has(key) || closed) continue;
        subscribers.delete(key);
        connected.delete(key);
        await resilient.close();
      }
      await Promise.all(
        [...wanted].filter(([key]) => !subscribers.has(key) && !closed).map(([key, n]) => listenOn(key, n)),
      );
      if (known > 0 || state.citusWorkers) report();
    })().finally(() => {
      syncing = undefined;
    }));

  await sync();
  const timer = setInterval(() => void sync(), options.workerRefreshMs ?? 30_000);
  timer.unref();
  return {
    async close() {
      closed = true;
      clearInterval(timer);
      await syncing;
      await Promise.all([...subscribers.values()].map((s) => s.close()));
      subscribers.clear();
      connected.clear();
    },
  };
}
