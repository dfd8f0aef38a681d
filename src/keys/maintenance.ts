/**
 * Maintenance jobs run in transactions (db/tenant.ts inTransaction): their claims are row locks
 * (FOR UPDATE SKIP LOCKED), so a claim, the work on it and the write-back share one transaction on
 * one client; if the process dies, the transaction rolls back and the next run claims the rows again.
 */
export { inTransaction } from '../db/tenant.js';

export interface Progress {
  job: string;
  done: number;
  total: number;
}

export type ProgressListener = (progress: Progress) => void;
