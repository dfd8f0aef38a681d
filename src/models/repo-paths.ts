/**
 * Locates the project root and the models bundled under it from this module's own location, so
 * that the code works the same from src/ under tap and from dist/. Nothing outside the package is
 * searched: a fresh clone must run on its own.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { packageRoot } from '../paths.js';

/** The package root (where package.json, models/ and migrations/ live). */
export function repoRoot(): string {
  return packageRoot;
}

/** `models/<name>` inside the package (models/README.md lists them), or undefined when absent. */
export function bundledModelDir(name: string): string | undefined {
  const dir = path.join(repoRoot(), 'models', name);
  return existsSync(dir) ? dir : undefined;
}
