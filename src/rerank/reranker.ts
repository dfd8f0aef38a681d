/**
 * The reranker's public behaviour: a process-wide cross-encoder loaded on first use, a latency
 * budget per call with fail-open to ANN order, a circuit breaker, and the feature flag / canary
 * that the daemon updates live from `memory.settings` NOTIFYs.
 */
import { ValidationError } from '../errors.js';
import { QueueFullError, RequestAbortedError } from '../inference/errors.js';
import { CircuitBreaker } from './breaker.js';
import { readRerankConfig, type RerankConfig } from './config.js';
import { CrossEncoder, type CrossEncoderInfo, type LoadState } from './cross-encoder.js';
import { RerankUnavailableError } from './errors.js';
import { annOrder, rankByLogits, type RerankInput, type RerankResult, validateRerankInput } from './input.js';
import { shouldRerankTenant } from './rollout.js';
import { rerankStats, type SkipReason } from './stats.js';

export interface RerankOptions {
  /** Latency budget for this call; defaults to the live circuit setting (RERANK_CIRCUIT_MS). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Never answer in ANN order: propagate faults (QueueFullError, worker and model errors) and
   * throw RerankUnavailableError for a missed budget, an open breaker or a model still loading.
   * For callers that want the pool as a service (POST /v1/rerank maps these to 429 / 503).
   */
  strict?: boolean;
}

export interface MaybeRerankOptions extends RerankOptions {
  /** The tenant's user hash, for the rollout canary. */
  userHash?: string;
  /** Per-request override of the flag (e.g. the API's `rerank: false`); cannot force it on when disabled. */
  rerank?: boolean;
}

export interface RerankOutcome {
  results: RerankResult[];
  reranked: boolean;
  /** Why the ANN order was returned, when it was. */
  skipped?: SkipReason;
  ms: number;
}

export interface RerankSettings {
  enabled: boolean;
  circuitMs: number;
  rolloutPercent: number;
}

let config: RerankConfig | undefined;
let encoder: CrossEncoder | undefined;
let breaker: CircuitBreaker | undefined;
let overrides: Partial<RerankSettings> = {};

function currentConfig(): RerankConfig {
  config ??= readRerankConfig();
  return config;
}

function currentBreaker(): CircuitBreaker {
  const c = currentConfig();
  breaker ??= new CircuitBreaker(c.breakerFailures, c.breakerCooldownMs, undefined, (state) =>
    rerankStats.breaker(state),
  );
  return breaker;
}

/**
 * RERANK_MAX_CANDIDATES as parsed once (config.ts validated it at start): request handlers read
 * this rather than the environment.
 */
export function rerankMaxCandidates(): number {
  return currentConfig().maxCandidates;
}

export function currentRerankSettings(): RerankSettings {
  const c = currentConfig();
  return { enabled: c.enabled, circuitMs: c.circuitMs, rolloutPercent: c.rolloutPercent, ...overrides };
}

/** Live settings from `memory.settings` (via NOTIFY); unspecified fields keep their value. */
export function applyRerankSettings(settings: Partial<RerankSettings>): RerankSettings {
  const next: Partial<RerankSettings> = { ...overrides };
  if (settings.enabled !== undefined) {
    if (typeof settings.enabled !== 'boolean') throw new ValidationError('enabled', 'must be a boolean');
    next.enabled = settings.enabled;
  }
  if (settings.circuitMs !== undefined) {
    if (!Number.isInteger(settings.circuitMs) || settings.circuitMs < 1)
      throw new ValidationError('circuitMs', 'must be a positive integer');
    next.circuitMs = settings.circuitMs;
  }
  if (settings.rolloutPercent !== undefined) {
    const p = settings.rolloutPercent;
    if (typeof p !== 'number' || !(p >= 0 && p <= 100))
      throw new ValidationError('rolloutPercent', 'must be between 0 and 100');
    next.rolloutPercent = p;
  }
  overrides = next;
  return currentRerankSettings();
}

/** The process-wide cross-encoder, loaded on first call (concurrent callers share the load). */
export async function getCrossEncoder(): Promise<CrossEncoder> {
  encoder ??= new CrossEncoder(currentConfig());
  await encoder.load();
  return encoder;
}

/**
 * Starts loading the cross-encoder in the background when reranking is enabled and RERANK_MODEL
 * names a model explicitly (the default is a Hugging Face id: nothing is downloaded unasked).
 * Without it the first rerank pays the load, and every call inside that window misses its budget.
 * Does not wait; a failed load is logged by the CrossEncoder and reported by getRerankerState().
 * Returns whether a load was started (or had already run).
 */
export function preloadCrossEncoder(): boolean {
  if (!currentRerankSettings().enabled || !currentConfig().modelConfigured) return false;
  getCrossEncoder().catch(() => {});
  return true;
}

export interface RerankerState extends CrossEncoderInfo {
  settings: RerankSettings;
  breaker: string;
}

/** For readiness probes: load state and device, without triggering a load. */
export function getRerankerState(): RerankerState {
  const c = currentConfig();
  const info: CrossEncoderInfo = encoder?.state ?? {
    state: 'unloaded' as LoadState,
    model: c.model,
    poolSize: c.poolSize,
    threads: c.threads,
  };
  return { ...info, settings: currentRerankSettings(), breaker: breaker?.state ?? 'closed' };
}

/** Terminates the workers and forgets config, overrides and breaker (the next call re-reads env). */
export async function closeReranker(): Promise<void> {
  const closing = encoder;
  encoder = undefined;
  config = undefined;
  breaker = undefined;
  overrides = {};
  rerankStats.breaker('closed');
  await closing?.close();
}

/** Reranks (or answers in ANN order within budget on latency/model faults); see rerankDetailed. */
export async function rerank(
  query: string,
  candidates: string[],
  options: RerankOptions = {},
): Promise<RerankResult[]> {
  return (await rerankDetailed(query, candidates, options)).results;
}

/** Honours the flag and the canary; returns whether the model actually reranked. */
export async function maybeRerank(
  query: string,
  candidates: string[],
  options: MaybeRerankOptions = {},
): Promise<RerankOutcome> {
  const started = performance.now();
  const input = validateRerankInput(query, candidates, { maxCandidates: currentConfig().maxCandidates });
  const settings = currentRerankSettings();
  const skip = (reason: SkipReason): RerankOutcome => {
    const ms = performance.now() - started;
    rerankStats.skipped(reason, ms);
    return { results: annOrder(candidates), reranked: false, skipped: reason, ms };
  };
  if (!settings.enabled || options.rerank === false) return skip('disabled');
  if (options.userHash !== undefined && !shouldRerankTenant(options.userHash, settings.rolloutPercent))
    return skip('rollout');
  return rerankWithinBudget(input, options, started);
}

/** Reranks within the budget; answers in ANN order on latency and model faults unless strict. */
export async function rerankDetailed(
  query: string,
  candidates: string[],
  options: RerankOptions = {},
): Promise<RerankOutcome> {
  const started = performance.now();
  const input = validateRerankInput(query, candidates, { maxCandidates: currentConfig().maxCandidates });
  return rerankWithinBudget(input, options, started);
}

/**
 * rerankDetailed for input already checked by validateRerankInput (POST /v1/rerank checks it
 * itself, naming its own field, before it looks at the flag): nothing is validated twice.
 */
export function rerankValidated(input: RerankInput, options: RerankOptions = {}): Promise<RerankOutcome> {
  return rerankWithinBudget(input, options, performance.now());
}

/** `started`: when the caller's clock started, so that the budget counts its own work too. */
async function rerankWithinBudget(
  input: RerankInput,
  options: RerankOptions,
  started: number,
): Promise<RerankOutcome> {
  const { query, candidates } = input;
  const elapsed = (): number => performance.now() - started;
  const fallback = (reason: SkipReason): RerankOutcome => {
    rerankStats.skipped(reason, elapsed());
    return { results: annOrder(candidates), reranked: false, skipped: reason, ms: elapsed() };
  };
  if (candidates.length === 0) return { results: [], reranked: true, ms: 0 };
  const guard = currentBreaker();
  if (!guard.allow()) {
    if (options.strict) throw new RerankUnavailableError('breaker_open', guard.msUntilProbe());
    return fallback('breaker_open');
  }

  const budget = options.timeoutMs ?? currentRerankSettings().circuitMs;
  const abort = new AbortController();
  const onCallerAbort = (): void => abort.abort();
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const pairs = candidates.map((passage) => ({ query, passage }));
  const work = getCrossEncoder().then((ce) =>
    ce.score(pairs, { signal: abort.signal, deadline: started + budget }),
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, budget - elapsed()));
  });
  try {
    const logits = await Promise.race([work, timeout]);
    if (logits === 'timeout') {
      abort.abort();
      work.catch(() => {}); // the late result or rejection is nobody's business now
      // A model still loading is not a fault of the model: do not trip the breaker for it.
      if (encoder?.state.state === 'loading') {
        guard.release();
        if (options.strict) throw new RerankUnavailableError('loading');
        return fallback('loading');
      }
      guard.failure();
      if (options.strict) throw new RerankUnavailableError('deadline');
      return fallback('timeout');
    }
    guard.success();
    const ms = elapsed();
    rerankStats.reranked(ms);
    return { results: rankByLogits(candidates, logits), reranked: true, ms };
  } catch (thrown) {
    // Thrown above for a strict caller, with the breaker already told: not a second failure.
    if (thrown instanceof RerankUnavailableError) throw thrown;
    if (thrown instanceof RequestAbortedError && options.signal?.aborted) {
      guard.release();
      throw thrown;
    }
    if (thrown instanceof QueueFullError) {
      guard.release(); // saturation is backpressure, not a sick model
      if (options.strict) throw thrown;
      return fallback('overloaded');
    }
    if (thrown instanceof RequestAbortedError) {
      // The pool dropped the request unrun: its deadline (the budget) passed while it queued.
      guard.failure();
      if (options.strict) throw new RerankUnavailableError('deadline');
      return fallback('timeout');
    }
    rerankStats.error();
    guard.failure();
    if (options.strict) throw thrown;
    return fallback('error');
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
}
