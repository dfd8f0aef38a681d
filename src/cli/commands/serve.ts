/** `memvault serve`: the daemon, configured from the environment (see docs/OPERATIONS.md). */
import { exitCodeFor, startDaemonFromEnv } from '../../daemon.js';
import { parseCommand } from '../args.js';
import { reportStartFailure, runUntilSignalled } from './serve-lifecycle.js';

export const summary = 'run the HTTP daemon (DATABASE_URL, or the embedded database when unset)';

export async function run(args: string[]): Promise<number> {
  parseCommand(args, {
    usage: 'usage: memvault serve   (configuration comes from the environment: docs/OPERATIONS.md)',
    options: {},
  });
  let started;
  try {
    started = await startDaemonFromEnv(process.env);
  } catch (thrown) {
    reportStartFailure(thrown);
    return exitCodeFor(thrown);
  }
  return runUntilSignalled(started.daemon, started.settings.shutdownTimeoutMs);
}
