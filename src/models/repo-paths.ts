/**
 * Locates the project root and the shared data folder (`../shared` beside the checkout in CI,
 * `./shared` on the device machines) from this module's own location, so that the code works the
 * same from src/ under tap and from dist/.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { packageRoot } from '../paths.js';

/** The package root (where package.json, models/ and migrations/ live). */
export function repoRoot(): string {
  return packageRoot;
}

/** The first existing `<shared>/models/<name>` folder, or undefined. */
export function sharedModelDir(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const root = repoRoot();
  const candidates = [
    env.MEMVAULT_SHARED_DIR ? path.join(env.MEMVAULT_SHARED_DIR, 'models', name) : undefined,
    // Bundled with the package (models/README.md), so a fresh checkout has an embedder.
    path.join(root, 'models', name),
    path.join(root, 'shared', 'models', name),
    path.join(root, '..', 'shared', 'models', name),
  ];
  return candidates.find((dir): dir is string => dir !== undefined && existsSync(dir));
}
