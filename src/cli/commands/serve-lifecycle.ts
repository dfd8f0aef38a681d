/**
 * Signal handling shared by `serve` and `start`: the first SIGTERM or SIGINT begins the graceful
 * two-phase shutdown; a second one, or MEMVAULT_SHUTDOWN_TIMEOUT_MS passing, forces exit 70.
 */
import { type Daemon, EXIT } from '../../daemon.js';
import { log } from '../../log.js';

export function runUntilSignalled(daemon: Daemon, shutdownTimeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: forcing exit');
        process.exit(EXIT.forced);
      }
      stopping = true;
      log.info({ signal }, 'signal received');
      // unref: the timer must never be what keeps a finished process alive.
      const force = setTimeout(() => {
        log.error(
          { in_flight: daemon.api.inFlight, timeout_ms: shutdownTimeoutMs },
          'shutdown timed out: forcing exit',
        );
        process.exit(EXIT.forced);
      }, shutdownTimeoutMs).unref();
      daemon.close().then(
        () => {
          clearTimeout(force);
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          // Everything we opened is closed; should a library leave a handle behind, do not hang.
          setTimeout(() => process.exit(EXIT.ok), 2_000).unref();
          resolve(EXIT.ok);
        },
        (thrown: unknown) => {
          log.error({ err: { name: (thrown as Error)?.name } }, 'shutdown failed');
          resolve(EXIT.fatal);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** Prints a start failure for a person (the message of our typed errors names the variable). */
export function reportStartFailure(thrown: unknown): void {
  const error = thrown as { message?: string; name?: string };
  console.error(`memvault: cannot start: ${error?.message ?? String(thrown)}`);
}
