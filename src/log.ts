/**
 * Structured logging. Only identifiers, counts and timings are logged: never parameters,
 * plaintext, ciphertext, keys or connection strings. Redaction below is a second line of defence.
 */
import { pino } from 'pino';

export const log = pino({
  level: process.env.MEMVAULT_LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
  base: { service: 'memvault' },
  redact: {
    paths: ['*.password', '*.key', '*.keys', '*.token', '*.authorization', '*.connectionString', '*.text'],
    censor: '[redacted]',
  },
});

export type Logger = typeof log;
