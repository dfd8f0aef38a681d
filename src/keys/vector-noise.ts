/**
 * The noise radius the key jobs (`reindex vectors`, `reseal --tenant`) give the protected search
 * vectors they write: the live setting `vector_noise` as stored (a job is not a daemon and has no
 * settings listener), or the default when unset. The database validates the value on write.
 */
import { DEFAULT_VECTOR_NOISE } from '../crypto/index.js';
import type { Pool } from '../db/pool.js';
import { getSettings } from '../db/procedures.js';

export async function storedVectorNoise(pool: Pool): Promise<number> {
  const noise = (await getSettings(pool)).vector_noise;
  return typeof noise === 'number' && noise >= 0 && noise <= 1 ? noise : DEFAULT_VECTOR_NOISE;
}
