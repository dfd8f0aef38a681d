/**
 * Open-loop request generation, shared by the suites that put a steady load on a daemon (load,
 * keys). Request i is due at start + i / rate and is sent then whether or not earlier ones have
 * answered; its latency counts from when it was DUE, not from when it went out. If the generator
 * itself falls behind — its event loop busy with the suite's own work (key re-wrapping, say) or a
 * saturated client — the overdue requests go out together as soon as it runs again, and the delay
 * shows up in their latency instead of vanishing as requests never sent (the coordinated-omission
 * trap of closed-loop and timer-driven testers). How late the generator was is reported apart
 * (`lateMs`), so a reader can tell the client's delay from the server's.
 */

export interface OpenLoopOutcome<T> {
  index: number;
  /** performance.now() at which the request was due. */
  scheduledAt: number;
  /** How long after `scheduledAt` the generator actually sent it (ms, >= 0). */
  lateMs: number;
  /** From `scheduledAt` to the answer or failure (ms); includes `lateMs`. */
  latencyMs: number;
  /** Exactly one of `value` (the request resolved) and `error` (it rejected) is set. */
  value?: T;
  error?: unknown;
}

export interface OpenLoopOptions<T> {
  ratePerS: number;
  /** Requests to send; without it the loop runs until stop(). */
  count?: number;
  send(index: number): Promise<T>;
  onSettled(outcome: OpenLoopOutcome<T>): void;
}

export interface OpenLoop {
  /** Requests sent so far. */
  readonly sent: number;
  /** Resolves once every request has been sent and has settled (after `count`, or after stop()). */
  readonly finished: Promise<void>;
  /**
   * Sends every request that is already due (none is dropped for being late), sends no more, and
   * resolves when all of them have settled.
   */
  stop(): Promise<void>;
}

export function startOpenLoop<T>(options: OpenLoopOptions<T>): OpenLoop {
  if (!(options.ratePerS > 0)) throw new Error('open loop: ratePerS must be positive');
  const interval = 1000 / options.ratePerS;
  const start = performance.now();
  let stopAt = Number.POSITIVE_INFINITY;
  let sent = 0;
  let sleeping: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  const inFlight = new Set<Promise<void>>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleeping = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleeping = { timer, wake };
    });

  const finished = (async () => {
    for (let index = 0; options.count === undefined || index < options.count; index++) {
      const scheduledAt = start + index * interval;
      const wait = scheduledAt - performance.now();
      if (wait > 0 && scheduledAt < stopAt) await sleep(wait);
      if (scheduledAt >= stopAt) break;
      const sentAt = performance.now();
      const lateMs = Math.max(0, sentAt - scheduledAt);
      sent++;
      const settle = (result: { value: T } | { error: unknown }) =>
        options.onSettled({
          index,
          scheduledAt,
          lateMs,
          latencyMs: performance.now() - scheduledAt,
          ...result,
        });
      const request = new Promise<T>((resolve) => resolve(options.send(index))).then(
        (value) => settle({ value }),
        (error: unknown) => settle({ error }),
      );
      const tracked: Promise<void> = request.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    }
    while (inFlight.size) await Promise.all(inFlight);
  })();

  return {
    get sent() {
      return sent;
    },
    finished,
    async stop() {
      stopAt = Math.min(stopAt, performance.now());
      sleeping?.wake();
      await finished;
    },
  };
}
