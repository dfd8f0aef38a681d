/**
 * Seal/open throughput of memvault's envelope against bare node:crypto AES-256-GCM, measured in the
 * same process and interleaved round by round (so CPU frequency drift and GC hit both sides
 * alike). Each figure is a median over rounds; `ratio` is the median of the per-round ratios.
 *
 * The baseline is the least a correct caller of node:crypto would write: random 12-byte IV,
 * createCipheriv/createDecipheriv with a 16-byte tag, the same AAD, and `iv | ct | tag` joined
 * with Buffer.concat. Ours additionally writes and authenticates the 5-byte version/key-id header.
 *
 * Run: memvault bench crypto [--quick] [--json <file>]
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

import { chunkAad, EncryptionKey, KeyRing } from '../crypto/index.js';
import type { Metric } from './result.js';
import { median, rotated } from './stats.js';
import { buildResult, type Suite } from './suite.js';

export interface BenchRow {
  /** e.g. "seal 1 KiB" */
  case: string;
  /** memvault, median ops/s over rounds */
  opsPerSec: number;
  /** bare node:crypto, median ops/s over rounds */
  baselineOpsPerSec: number;
  /** median over rounds of (ours / baseline) in the same round */
  ratio: number;
}

export interface BenchResult {
  name: string;
  /** Rounds per case and milliseconds per side per round. */
  settings: { rounds: number; msPerSide: number; node: string };
  rows: BenchRow[];
}

const PAYLOADS: ReadonlyArray<readonly [string, number]> = [
  ['64 B', 64],
  ['1 KiB', 1024],
  ['16 KiB', 16 * 1024],
];

/** Runs `op` repeatedly for about `ms` milliseconds; returns ops per second. */
function rate(op: () => unknown, ms: number): number {
  const budget = BigInt(ms) * 1_000_000n;
  const start = process.hrtime.bigint();
  let ops = 0;
  let elapsed = 0n;
  do {
    // Check the clock every 32 ops so reading it costs nothing measurable.
    for (let i = 0; i < 32; i++) op();
    ops += 32;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget);
  return ops / (Number(elapsed) / 1e9);
}

function compare(
  name: string,
  ours: () => unknown,
  baseline: () => unknown,
  rounds: number,
  ms: number,
): BenchRow {
  rate(ours, ms); // warm-up: let V8 optimize both paths before anything counts
  rate(baseline, ms);
  const oursRates: number[] = [];
  const baseRates: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate which side goes first, so neither always runs on a warmer cache.
    let o = Number.NaN;
    let base = Number.NaN;
    const sides = [() => (o = rate(ours, ms)), () => (base = rate(baseline, ms))];
    for (const side of rotated(sides, round)) side();
    oursRates.push(o);
    baseRates.push(base);
    ratios.push(o / base);
  }
  return {
    case: name,
    opsPerSec: median(oursRates),
    baselineOpsPerSec: median(baseRates),
    ratio: median(ratios),
  };
}

export async function runCryptoBench(opts: { quick: boolean }): Promise<BenchResult> {
  const rounds = opts.quick ? 9 : 31;
  const ms = opts.quick ? 25 : 60;
  const keyBytes = randomBytes(32);
  const ring = new KeyRing([EncryptionKey.fromBytes(1, keyBytes)]);
  // A realistic AAD: what the write path binds a text blob to.
  const aad = chunkAad(randomBytes(32).toString('hex'), '2f1f4c3e-8a43-4f55-9c1e-4f0e3b0f6a11', 'text');

  const bareSeal = (plaintext: Uint8Array): Buffer => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', keyBytes, iv, { authTagLength: 16 });
    cipher.setAAD(aad);
    const ct = cipher.update(plaintext);
    cipher.final();
    return Buffer.concat([iv, ct, cipher.getAuthTag()]);
  };
  const bareOpen = (blob: Buffer): Buffer => {
    const decipher = createDecipheriv('aes-256-gcm', keyBytes, blob.subarray(0, 12), { authTagLength: 16 });
    decipher.setAuthTag(blob.subarray(blob.length - 16));
    decipher.setAAD(aad);
    const pt = decipher.update(blob.subarray(12, blob.length - 16));
    decipher.final();
    return pt;
  };

  const rows: BenchRow[] = [];
  for (const [label, size] of PAYLOADS) {
    const plaintext = randomBytes(size);
    const ours = ring.seal(plaintext, aad);
    const bare = bareSeal(plaintext);
    if (!ring.open(ours, aad).equals(plaintext) || !bareOpen(bare).equals(plaintext)) {
      throw new Error('bench self-check failed: a round trip did not return the plaintext');
    }
    rows.push(
      compare(
        `seal ${label}`,
        () => ring.seal(plaintext, aad),
        () => bareSeal(plaintext),
        rounds,
        ms,
      ),
    );
    rows.push(
      compare(
        `open ${label}`,
        () => ring.open(ours, aad),
        () => bareOpen(bare),
        rounds,
        ms,
      ),
    );
  }
  return { name: 'crypto', settings: { rounds, msPerSide: ms, node: process.version }, rows };
}

export function formatCryptoBench(result: BenchResult): string {
  const header = ['case', 'memvault ops/s', 'node:crypto ops/s', 'ratio'];
  const lines = result.rows.map((row) => [
    row.case,
    Math.round(row.opsPerSec).toLocaleString('en-US'),
    Math.round(row.baselineOpsPerSec).toLocaleString('en-US'),
    `${row.ratio.toFixed(2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i]!.length)));
  const render = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const { rounds, msPerSide, node } = result.settings;
  return [
    `crypto: AES-256-GCM seal/open, median of ${rounds} interleaved rounds x ${msPerSide} ms per side, node ${node}, one thread`,
    render(header),
    render(widths.map((w) => '-'.repeat(w))),
    ...lines.map(render),
  ].join('\n');
}

/** Each case as metrics: ops/s of ours (informative) and the ratio (goal >= 0.9x, issue 3). */
function cryptoMetrics(result: BenchResult): Metric[] {
  return result.rows.flatMap((row): Metric[] => {
    const key = row.case.replace(/\s+/g, '_');
    return [
      {
        name: `${key}.ops_per_s`,
        value: row.opsPerSec,
        unit: 'ops/s',
        better: 'higher',
        goal: { op: '>=', value: 5_000 },
      },
      {
        name: `${key}.ratio_vs_node_crypto`,
        value: row.ratio,
        unit: 'x',
        better: 'higher',
        goal: { op: '>=', value: 0.9 },
      },
    ];
  });
}

export const suite: Suite = {
  name: 'crypto',
  options: [],
  summary: 'seal/open ops/s vs bare node:crypto AES-256-GCM (64 B, 1 KiB, 16 KiB)',
  async run(ctx) {
    const startedAt = new Date();
    ctx.progress.stage('interleaved seal/open rounds');
    const result = await runCryptoBench({ quick: ctx.quick });
    const text = formatCryptoBench(result).split('\n');
    return buildResult('crypto', ctx, startedAt, {
      settings: result.settings,
      metrics: cryptoMetrics(result),
      tables: [
        {
          title: text[0]!,
          header: ['case', 'memvault ops/s', 'node:crypto ops/s', 'ratio'],
          rows: result.rows.map((row) => [
            row.case,
            Math.round(row.opsPerSec).toLocaleString('en-US'),
            Math.round(row.baselineOpsPerSec).toLocaleString('en-US'),
            `${row.ratio.toFixed(2)}x`,
          ]),
          note: 'ratio = median over rounds of (memvault / node:crypto) in the same round',
        },
      ],
    });
  },
};
