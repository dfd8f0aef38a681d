/**
 * Command-line parsing for every `memvault` command: node:util's parseArgs with `strict: true`, so
 * an unknown flag, a flag without its value or a stray argument stops the command (exit 2, naming
 * it) instead of being ignored, and `--help` prints the command's usage (exit 0). Commands throw;
 * main.ts turns UsageError and HelpRequested into the exit codes, before any connection is made.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { MemvaultError } from '../errors.js';

/** Bad command-line input: exit 2 with the message and the command's usage on stderr. */
export class UsageError extends MemvaultError {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super('usage', message);
  }
}

/** `--help` was given: the usage goes to stdout and the command exits 0. */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super('help requested');
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec<O extends Options> {
  usage: string;
  options: O;
  /** How many positional arguments the command takes (default: none). */
  positionals?: { min?: number; max?: number; names?: string[] };
}

/** What parseCommand returns: the typed flag values and the positional arguments. */
export type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>
>;

/** Parses `args` against `spec`; throws UsageError or HelpRequested. */
export function parseCommand<O extends Options>(args: string[], spec: CommandSpec<O>): Parsed<O> {
  if (args.includes('--help') || args.includes('-h')) throw new HelpRequested(spec.usage);
  const max = spec.positionals?.max ?? 0;
  const min = spec.positionals?.min ?? 0;
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args, options: spec.options, strict: true, allowPositionals: true });
  } catch (thrown) {
    // Node's first sentence names the flag: "Unknown option '--tenantz'", "Option '--to <value>'
    // argument missing". The rest explains `--` escaping, which is noise here.
    const message = thrown instanceof Error ? thrown.message.split('. ')[0]! : String(thrown);
    throw new UsageError(message, spec.usage);
  }
  // Positionals are counted here rather than by parseArgs, so the message can say which one.
  const { positionals } = parsed;
  if (positionals.length > max) {
    throw new UsageError(`unexpected argument '${positionals[max]}'`, spec.usage);
  }
  if (positionals.length < min) {
    const missing = spec.positionals?.names?.[positionals.length] ?? 'an argument';
    throw new UsageError(`missing ${missing}`, spec.usage);
  }
  return parsed;
}

/** A `--flag` value that must be a positive integer (undefined when the flag is absent). */
export function positiveInt(value: string | undefined, flag: string, usage: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${flag} must be a positive integer, got '${value}'`, usage);
  }
  return n;
}

/** A required `--flag` value or positional that must be one of `choices`. */
export function oneOf<T extends string>(
  value: string | undefined,
  what: string,
  choices: readonly T[],
  usage: string,
): T {
  if (value !== undefined && (choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(
    value === undefined
      ? `missing ${what} (${choices.join(', ')})`
      : `unknown ${what} '${value}' (${choices.join(', ')})`,
    usage,
  );
}

/**
 * The subcommand in `args[0]` (`keys rotate ...`), one of `choices`; `--help` in its place asks
 * for the command's usage. The caller parses `args.slice(1)` with the subcommand's own spec.
 */
export function subcommand<T extends string>(args: string[], choices: readonly T[], usage: string): T {
  const [first] = args;
  if (first === '--help' || first === '-h') throw new HelpRequested(usage);
  return oneOf(first, 'subcommand', choices, usage);
}
