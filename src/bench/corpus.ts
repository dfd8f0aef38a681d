/**
 * A synthetic, seeded corpus for the database suites: tenants of skewed sizes and clustered
 * vectors. Uniform random vectors would be the worst case for any ANN index and unlike real
 * embeddings; here each tenant writes about a handful of topics (shared topic centres across
 * tenants, so a large tenant's neighbours in the HNSW graph include other tenants' rows, as in
 * production), and each chunk is its topic centre plus Gaussian noise of the same norm, which puts
 * the cosine similarity between two chunks of one topic around 0.5.
 */
import { createHash } from 'node:crypto';

import { gaussian, seededRandom } from './stats.js';

export type TenantClass = 'small' | 'medium' | 'large';

export interface TenantPlan {
  userHash: string;
  size: number;
  cls: TenantClass;
  /** Indexes into the shared topic centres. */
  topics: number[];
}

/** Share of the corpus per class; large tenants get 50%, 20% and 10% (50k, 20k, 10k of 100k). */
const LARGE_SHARES = [0.5, 0.2, 0.1];
const MEDIUM_TENANTS = 5;
const MEDIUM_SHARE = 0.1;
const TOPICS = 64;

/** A deterministic tenant hash: same corpus, same hashes, on every run with the same seed. */
function benchHash(seed: number, i: number): string {
  return createHash('sha256').update(`memvault-bench:${seed}:${i}`).digest('hex');
}

export function planTenants(total: number, seed = 1): TenantPlan[] {
  const random = seededRandom(seed);
  const plans: TenantPlan[] = [];
  const pickTopics = (n: number): number[] => Array.from({ length: n }, () => Math.floor(random() * TOPICS));
  let next = 0;
  for (const share of LARGE_SHARES)
    plans.push({
      userHash: benchHash(seed, next++),
      size: Math.round(total * share),
      cls: 'large',
      topics: pickTopics(8),
    });
  const mediumSize = Math.round((total * MEDIUM_SHARE) / MEDIUM_TENANTS);
  for (let i = 0; i < MEDIUM_TENANTS; i++)
    plans.push({ userHash: benchHash(seed, next++), size: mediumSize, cls: 'medium', topics: pickTopics(5) });
  // Small tenants: sizes 10..200, skewed towards the low end (most users have little memory).
  let left = total - plans.reduce((sum, p) => sum + p.size, 0);
  while (left > 0) {
    const size = Math.min(left, 10 + Math.floor(190 * random() ** 2.5));
    plans.push({ userHash: benchHash(seed, next++), size, cls: 'small', topics: pickTopics(3) });
    left -= size;
  }
  return plans;
}

/** Unit-norm topic centres in `dim` dimensions. */
export function topicCentres(dim: number, seed = 1): Float32Array[] {
  const random = seededRandom(seed * 7919 + 17);
  return Array.from({ length: TOPICS }, () =>
    normalize(Float32Array.from({ length: dim }, () => gaussian(random))),
  );
}

function normalize(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}

/** One point near one of the tenant's topics: centre + noise with about the centre's norm. */
export function samplePoint(plan: TenantPlan, centres: Float32Array[], random: () => number): Float32Array {
  const centre = centres[plan.topics[Math.floor(random() * plan.topics.length)]!]!;
  const sigma = 1 / Math.sqrt(centre.length);
  const v = new Float32Array(centre.length);
  for (let i = 0; i < v.length; i++) v[i] = centre[i]! + sigma * gaussian(random);
  return normalize(v);
}

/** pgvector text form with 6 significant digits: a third of the bytes of full float32 text. */
export function vectorText(v: Float32Array): string {
  let out = '[';
  for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + v[i]!.toPrecision(6);
  return out + ']';
}
