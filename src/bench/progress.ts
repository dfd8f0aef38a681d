/**
 * Progress lines on stderr (stdout carries the tables), at most one every `everyMs`, so a long
 * suite shows it is alive without flooding a CI log.
 */
export interface Progress {
  /** A stage starts: always printed. */
  stage(message: string): void;
  /** Work inside a stage: printed when the last line is older than the throttle, or at the end. */
  tick(done: number, total: number, what: string): void;
}

export function createProgress(suite: string, options: { quiet?: boolean; everyMs?: number } = {}): Progress {
  const everyMs = options.everyMs ?? 2_000;
  const started = performance.now();
  let last = 0;
  const write = (text: string): void => {
    if (options.quiet) return;
    const t = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
    process.stderr.write(`[${suite} ${t}s] ${text}\n`);
    last = performance.now();
  };
  return {
    stage: write,
    tick(done, total, what) {
      if (done === total || performance.now() - last >= everyMs) write(`${what}: ${done}/${total}`);
    },
  };
}
