/**
 * Circuit breaker: after `failures` consecutive failures (timeouts or model errors) it opens for
 * `cooldownMs`, during which callers skip the reranker at once; then one probe is let through
 * (half-open) and its outcome closes or re-opens the breaker.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openedAt = 0;
  private probing = false;
  private current: BreakerState = 'closed';

  constructor(
    private readonly failures: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = () => performance.now(),
    private readonly onChange: (state: BreakerState) => void = () => {},
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  /** Whether a request may use the reranker now; in half-open state only one probe at a time. */
  allow(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open') {
      if (this.now() - this.openedAt < this.cooldownMs) return false;
      this.set('half-open');
    }
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  success(): void {
    this.consecutiveFailures = 0;
    this.probing = false;
    if (this.current !== 'closed') this.set('closed');
  }

  failure(): void {
    this.consecutiveFailures++;
    const wasProbe = this.probing;
    this.probing = false;
    if (wasProbe || this.consecutiveFailures >= this.failures) {
      this.openedAt = this.now();
      this.set('open');
    }
  }

  /** While open: how long until the next probe may go through (0 when closed or half-open). */
  msUntilProbe(): number {
    if (this.current !== 'open') return 0;
    return Math.max(0, this.cooldownMs - (this.now() - this.openedAt));
  }

  /** A request that ended without telling anything about health (e.g. aborted by the caller). */
  release(): void {
    this.probing = false;
  }

  private set(state: BreakerState): void {
    this.current = state;
    this.onChange(state);
  }
}
