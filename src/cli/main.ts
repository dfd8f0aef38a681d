#!/usr/bin/env node
/**
 * `memvault <command> ...`: dispatches to one module per command under ./commands, loaded lazily
 * so that, say, `memvault doctor` never loads onnxruntime.
 */
import { coerceError, MemvaultError } from '../errors.js';
import { HelpRequested, UsageError } from './args.js';

type CommandModule = { run(args: string[]): Promise<number>; summary: string };

const commands: Record<string, () => Promise<CommandModule>> = {
  db: () => import('./commands/db.js'),
  migrate: () => import('./commands/migrate.js'),
  doctor: () => import('./commands/doctor.js'),
  serve: () => import('./commands/serve.js'),
  start: () => import('./commands/start.js'),
  demo: () => import('./commands/demo.js'),
  models: () => import('./commands/models.js'),
  eval: () => import('./commands/eval.js'),
  bench: () => import('./commands/bench.js'),
  keys: () => import('./commands/keys.js'),
  reseal: () => import('./commands/reseal.js'),
  reindex: () => import('./commands/reindex.js'),
  tenants: () => import('./commands/tenants.js'),
  openapi: () => import('./commands/openapi.js'),
  mcp: () => import('./commands/mcp.js'),
};

async function usage(): Promise<void> {
  const lines = ['usage: memvault <command> [args]', '', 'commands:'];
  for (const [name, load] of Object.entries(commands)) {
    const mod = await load().catch(() => undefined);
    lines.push(`  ${name.padEnd(10)} ${mod?.summary ?? ''}`);
  }
  console.log(lines.join('\n'));
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    await usage();
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`memvault: unknown command '${name}' (try: memvault help)`);
    return 2;
  }
  return (await load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (thrown: unknown) => {
    if (thrown instanceof HelpRequested) {
      console.log(thrown.usage);
      process.exitCode = 0;
      return;
    }
    if (thrown instanceof UsageError) {
      console.error(`memvault ${process.argv[2]}: ${thrown.message}\n${thrown.usage}`);
      process.exitCode = 2;
      return;
    }
    const error = coerceError(thrown);
    // Typed errors carry messages written for users; anything else is a bug worth its stack.
    if (error instanceof MemvaultError) console.error(`memvault: ${error.message}`);
    else console.error(error);
    process.exitCode = 1;
  },
);
