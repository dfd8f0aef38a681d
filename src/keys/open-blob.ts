/**
 * Opens a blob of either envelope scheme with an explicit key ring (jobs are given their ring; they
 * must not fall back to the process default read from the environment).
 */
import { type DataKeyLookup, ENVELOPE_DATA_KEY, envelopeInfo, type KeyRing, openWithDataKey } from '../crypto/index.js';

export function openWithRing(ring: KeyRing, blob: Uint8Array, aad: Uint8Array, lookup: DataKeyLookup): Buffer {
  return envelopeInfo(blob).version === ENVELOPE_DATA_KEY ? openWithDataKey(lookup, blob, aad) : ring.open(blob, aad);
}
