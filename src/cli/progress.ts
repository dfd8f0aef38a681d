/** A one-line progress bar on stderr for long CLI jobs (plain lines when stderr is not a terminal). */
import type { Progress } from '../keys/maintenance.js';

export function progressBar(label: string): (p: Progress) => void {
  const started = Date.now();
  let lastPrinted = 0;
  return ({ done, total }) => {
    const now = Date.now();
    if (now - lastPrinted < 200 && done < total) return;
    lastPrinted = now;
    const ratio = total > 0 ? Math.min(done / total, 1) : 0;
    const width = 30;
    const bar = '#'.repeat(Math.round(ratio * width)).padEnd(width, '.');
    const rate = done / Math.max((now - started) / 1000, 0.001);
    const line = `${label} [${bar}] ${(ratio * 100).toFixed(0).padStart(3)}% ${done}/${total} (${rate.toFixed(0)}/s)`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}${done >= total ? '\n' : ''}`);
    else process.stderr.write(`${line}\n`);
  };
}
