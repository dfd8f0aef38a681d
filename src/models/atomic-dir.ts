/**
 * Writes a folder atomically: fill a sibling temporary folder, then rename it into place. Several
 * processes (parallel test files, two daemons sharing a cache) may race to create the same model
 * folder; the loser sees the winner's complete folder and never a half-written one.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Returns true when this call created `target`, false when another writer got there first. */
export async function writeDirAtomically(
  target: string,
  fill: (tmpDir: string) => Promise<void>,
): Promise<boolean> {
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
    if (existsSync(target)) return false;
    try {
      await rename(tmp, target);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && existsSync(target)) return false;
      throw error;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
