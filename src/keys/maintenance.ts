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

/**
 * Called after each committed batch and awaited before the next one, so a listener may hold a job
 * between batches (the tests do, to load the system while a rotation is half done).
 */
export type ProgressListener = (progress: Progress) => void | Promise<void>;
