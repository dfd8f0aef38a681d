/**
 * Bounds what a JSON body can cost before JSON.parse sees it. A scan over the raw bytes as they
 * arrive tracks nesting depth, objects and arrays (the expensive nodes: one heap object each) and
 * values (counted by separators), and fails at the first byte over a limit — so 8 million levels of
 * nesting or 4 million `{}` are refused after a few kilobytes or megabytes of cheap scanning,
 * instead of blocking the event loop in JSON.parse and allocating gigabytes. It checks shape only;
 * JSON.parse still decides validity.
 */
export interface JsonShapeLimits {
  /** Deepest nesting of objects and arrays. */
  maxDepth: number;
  /** Objects and arrays in the whole body. */
  maxContainers: number;
  /** Values in the whole body (approximated by separators: commas, plus one per container). */
  maxValues: number;
}

export class JsonShapeError extends Error {
  constructor(
    readonly limit: keyof JsonShapeLimits,
    message: string,
  ) {
    super(message);
    this.name = 'JsonShapeError';
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

export class JsonShapeScanner {
  readonly #limits: JsonShapeLimits;
  #inString = false;
  #escaped = false;
  #depth = 0;
  #containers = 0;
  #values = 0;

  constructor(limits: JsonShapeLimits) {
    this.#limits = limits;
  }

  /** Scans the next bytes of the body; throws JsonShapeError at the first limit crossed. */
  feed(bytes: Uint8Array): void {
    const { maxDepth, maxContainers, maxValues } = this.#limits;
    let inString = this.#inString;
    let escaped = this.#escaped;
    let depth = this.#depth;
    let containers = this.#containers;
    let values = this.#values;
    try {
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i]!;
        if (inString) {
          if (escaped) escaped = false;
          else if (b === BACKSLASH) escaped = true;
          else if (b === QUOTE) inString = false;
        } else if (b === QUOTE) {
          inString = true;
        } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
          if (++depth > maxDepth) {
            throw new JsonShapeError(
              'maxDepth',
              `the body nests objects and arrays deeper than ${maxDepth} levels`,
            );
          }
          if (++containers > maxContainers) {
            throw new JsonShapeError(
              'maxContainers',
              `the body holds more than ${maxContainers} objects and arrays`,
            );
          }
          if (++values > maxValues) throw tooManyValues(maxValues);
        } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
          depth--;
        } else if (b === COMMA) {
          if (++values > maxValues) throw tooManyValues(maxValues);
        }
      }
    } finally {
      this.#inString = inString;
      this.#escaped = escaped;
      this.#depth = depth;
      this.#containers = containers;
      this.#values = values;
    }
  }
}

function tooManyValues(maxValues: number): JsonShapeError {
  return new JsonShapeError('maxValues', `the body holds more than ${maxValues} values`);
}
