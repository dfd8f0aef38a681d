/**
 * The one error a sealed blob may raise when it does not open. Callers (and attackers probing the
 * HTTP layer) learn only that it failed and a coarse reason, never which byte, never any key
 * material or data: there is deliberately no `cause`, since node:crypto's own errors are not ours
 * to vouch for.
 */
import { MemvaultError } from '../errors.js';

/**
 * Why a blob did not open. Useful to operators (an `unknown_key` after a deploy usually means an
 * old key id was dropped from the ring too early); meaningless to an attacker, who can parse the
 * plaintext header as well as we can.
 */
export type InvalidTagReason = 'malformed' | 'unknown_version' | 'unknown_key' | 'auth_failed';

const DESCRIPTIONS: Record<InvalidTagReason, string> = {
  malformed: 'not a sealed blob (wrong type or too short)',
  unknown_version: 'unknown envelope version',
  unknown_key: 'sealed under a key id that is not configured',
  auth_failed: 'authentication failed (wrong key, wrong AAD or tampered)',
};

export class InvalidTag extends MemvaultError {
  readonly reason: InvalidTagReason;
  constructor(reason: InvalidTagReason) {
    super('invalid_tag', `sealed blob did not open: ${DESCRIPTIONS[reason]}`);
    this.reason = reason;
  }
}
