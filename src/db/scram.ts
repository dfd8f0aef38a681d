/**
 * A SCRAM-SHA-256 password verifier (RFC 5802/7677, PostgreSQL's stored form), computed here so
 * that `ALTER ROLE ... PASSWORD` sends the verifier, never the password: the statement text can
 * reach the server log or pg_stat_activity. What psql's \password and libpq's
 * PQencryptPasswordConn do. Passwords are ASCII (generated), so SASLprep changes nothing.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

const ITERATIONS = 4096; // PostgreSQL's scram_iterations default

export function scramVerifier(password: string, salt: Buffer = randomBytes(16)): string {
  if (!/^[\x21-\x7e]+$/.test(password)) throw new RangeError('scramVerifier takes printable ASCII passwords');
  const salted = pbkdf2Sync(password, salt, ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
