/** Locations inside the installed package (the same from src/ under the test loader and from dist/). */
import { fileURLToPath } from 'node:url';

export const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const migrationsFolder = fileURLToPath(new URL('../migrations', import.meta.url));
export const bootstrapFolder = fileURLToPath(new URL('../db/bootstrap', import.meta.url));
/** db/citus: the distribution step `memvault migrate` runs on a Citus coordinator. */
export const citusFolder = fileURLToPath(new URL('../db/citus', import.meta.url));
