/**
 * Canary rollout: a tenant is in the rerank cohort when its bucket (0..9999, from the first 32 bits
 * of its user hash) falls below percent x 100. The user hash is already a uniform HMAC, so the
 * cohort is stable per tenant and grows monotonically as the percentage rises (5% -> 10% keeps
 * the first 5%).
 */
import { createHash } from 'node:crypto';

export function tenantBucket(userHash: string): number {
  const hex = /^[0-9a-f]{8}/i.test(userHash)
    ? userHash.slice(0, 8)
    : createHash('sha256').update(userHash).digest('hex').slice(0, 8);
  return Math.floor((Number.parseInt(hex, 16) / 0x1_0000_0000) * 10_000);
}

export function shouldRerankTenant(userHash: string, percent: number): boolean {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  return tenantBucket(userHash) < Math.round(percent * 100);
}
