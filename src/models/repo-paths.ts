/**
 * Locates the project root and the shared data folder (`../shared` beside the checkout in CI,
 * `./shared` on the device machines) from this module's own location, so that the code works the
 * same from src/ under tap and from dist/.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** The first existing `<shared>/models/<name>` folder, or undefined. */
export function sharedModelDir(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const root = repoRoot();
  const candidates = [
    env.MEMVAULT_SHARED_DIR ? path.join(env.MEMVAULT_SHARED_DIR, 'models', name) : undefined,
    path.join(root, 'shared', 'models', name),
    path.join(root, '..', 'shared', 'models', name),
  ];
  return candidates.find((dir): dir is string => dir !== undefined && existsSync(dir));
}
