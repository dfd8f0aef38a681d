/**
 * A bound on request-body bytes held in memory across all requests at once. Each request reserves
 * what its body declares (Content-Length) or grows its reservation as chunks arrive, and gives it
 * back when it has been answered (the parsed body lives as long as the handler). Past the bound,
 * new bodies are refused (429) instead of letting concurrent large bodies add up without limit.
 */
export class ByteBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /** A reservation for one request, initially empty. */
  open(): ByteReservation {
    return new ByteReservation(this);
  }

  /** @internal */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  /** @internal */
  give(bytes: number): void {
    this.#used -= bytes;
  }
}

export class ByteReservation {
  readonly #budget: ByteBudget;
  #held = 0;

  constructor(budget: ByteBudget) {
    this.#budget = budget;
  }

  /** Holds at least `total` bytes; false (nothing changed) when the budget cannot give them. */
  ensure(total: number): boolean {
    if (total <= this.#held) return true;
    if (!this.#budget.take(total - this.#held)) return false;
    this.#held = total;
    return true;
  }

  release(): void {
    this.#budget.give(this.#held);
    this.#held = 0;
  }
}
