/**
 * Strict command-line parsing (src/cli/args.ts): every command rejects an unknown flag and a bad
 * value with exit 2 and a message naming it, before it reads a key or opens a connection (no
 * database is configured here, so a command that went further would fail differently), and
 * `--help` prints the command's usage with exit 0.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

import t from 'tap';

import { packageRoot } from '../../src/paths.js';

const cli = join(packageRoot, 'dist/cli/main.js');

// Nothing to connect to and no keys: a parse error must come first.
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  MEMVAULT_HOME: '/nonexistent/mv',
};

function memvault(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

// [command line, what the bad value is, the message that must name it]
const unknownFlag: Array<[string[], RegExp]> = [
  [['db', 'up', '--bogus'], /Unknown option '--bogus'/],
  [['migrate', '--bogus'], /Unknown option '--bogus'/],
  [['doctor', '--plan'], /Unknown option '--plan'/],
  [['serve', '--port', '80'], /Unknown option '--port'/],
  [['start', '--bogus'], /Unknown option '--bogus'/],
  [['demo', '--bogus'], /Unknown option '--bogus'/],
  [['models', 'fixture', '/tmp/x', '--forse'], /Unknown option '--forse'/],
  [['eval', 'rerank', '--dataset', 'd', '--candidate', '5'], /Unknown option '--candidate'/],
  [['eval', 'retrieval', '--dataset', 'd', '--modes', 'dense'], /Unknown option '--modes'/],
  [['bench', 'ingest', '--chunk', '5'], /unknown option --chunk for ingest/],
  [['keys', 'rotate', '--too', '3'], /Unknown option '--too'/],
  [['reseal', '--tenants', 'alice'], /Unknown option '--tenants'/],
  [['tenants', 'rehash', '--user-id', 'f'], /Unknown option '--user-id'/],
  [['openapi', '--yaml'], /Unknown option '--yaml'/],
  [['mcp', '--user', 'alice'], /Unknown option '--user'/],
];

const badValue: Array<[string[], RegExp]> = [
  [['db', 'sideways'], /unknown subcommand|unknown action 'sideways'/],
  [['migrate', 'now'], /unexpected argument 'now'/],
  [['doctor', '--plans', '--tenant', 'alice'], /--tenant must be a user_hash/],
  [['doctor', '--json=yes'], /Option '--json' does not take an argument/],
  [['serve', 'now'], /unexpected argument 'now'/],
  [['start', 'now'], /unexpected argument 'now'/],
  [['demo', 'now'], /unexpected argument 'now'/],
  [['models', 'fixture'], /missing the folder to write/],
  [['models', 'train'], /unknown subcommand 'train'/],
  [
    ['eval', 'rerank', '--dataset', 'd', '--candidates', 'abc'],
    /--candidates must be a positive integer, got 'abc'/,
  ],
  [['eval', 'retrieval', '--dataset', 'd', '--mode', 'fuzzy'], /unknown --mode 'fuzzy'/],
  [['eval', 'rerank'], /--dataset <BEIR dir> is required/],
  [['bench', 'ingest', '--rounds'], /Option '--rounds <value>' argument missing/],
  [['bench', 'compare', 'a.json'], /compare takes two files/],
  [['keys', 'rotate', '--to', 'three'], /--to must be a positive integer, got 'three'/],
  [['keys', 'rotate', '--to=0'], /--to must be a positive integer, got '0'/],
  [['keys', 'retire'], /missing the key id to retire/],
  [['reseal', '--batch', 'abc'], /--batch must be a positive integer, got 'abc'/],
  [['reseal', '--tenant'], /Option '--tenant <value>' argument missing/],
  [['reindex', 'lexical', '--batch', '0'], /--batch must be a positive integer, got '0'/],
  [['reindex', 'lexical', '--tenants', 'alice'], /Unknown option '--tenants'/],
  [['reindex', 'semantic'], /unknown subcommand 'semantic'/],
  [['tenants', 'rehash'], /--user-ids FILE is required/],
  [['openapi', 'now'], /unexpected argument 'now'/],
  [['mcp'], /--user-id is required/],
];

t.test('every command refuses an unknown flag with exit 2, naming it', async (t) => {
  for (const [args, message] of unknownFlag) {
    const res = await memvault(args);
    t.equal(res.code, 2, `${args.join(' ')}: exit 2`);
    t.match(res.stderr, message, `${args.join(' ')}: names the flag`);
    t.match(res.stderr, /usage: memvault/, `${args.join(' ')}: shows the usage`);
  }
});

t.test('every command refuses a bad value or argument with exit 2, naming it', async (t) => {
  for (const [args, message] of badValue) {
    const res = await memvault(args);
    t.equal(res.code, 2, `${args.join(' ')}: exit 2`);
    t.match(res.stderr, message, `${args.join(' ')}: says what is wrong`);
  }
});

t.test('--help prints the usage of every command on stdout and exits 0', async (t) => {
  const commands = [
    ['db'],
    ['migrate'],
    ['doctor'],
    ['serve'],
    ['start'],
    ['demo'],
    ['models'],
    ['models', 'fixture'],
    ['eval'],
    ['bench'],
    ['keys'],
    ['keys', 'rotate'],
    ['reseal'],
    ['reindex'],
    ['reindex', 'lexical'],
    ['tenants'],
    ['openapi'],
    ['mcp'],
  ];
  for (const command of commands) {
    const res = await memvault([...command, '--help']);
    t.equal(res.code, 0, `${command.join(' ')} --help: exit 0`);
    t.match(
      res.stdout,
      new RegExp(`usage: memvault ${command[0]}`),
      `${command.join(' ')} --help: its usage`,
    );
  }
});
