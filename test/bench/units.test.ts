/**
 * The bench machinery that decides verdicts: statistics, the compare gate, argument parsing and
 * the SVG writer. Pure and fast.
 */
import t from 'tap';

import { compareBench } from '../../src/bench/compare.js';
import { latencyChart, sweepChart } from '../../src/bench/plots.js';
import { type BenchFile, goalMet, type Metric } from '../../src/bench/result.js';
import { median, percentiles } from '../../src/bench/stats.js';
import { parseArgs } from '../../src/cli/commands/bench.js';

t.test('median and nearest-rank percentiles', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 2, 3]), 2.5);
  const p = percentiles(Array.from({ length: 100 }, (_, i) => i + 1));
  t.same([p.p50, p.p95, p.p99, p.max, p.n], [50, 95, 99, 100, 100]);
  t.ok(Number.isNaN(median([])));
});

function file(metrics: Metric[]): BenchFile {
  return {
    format: 'memvault-bench/1',
    results: [
      {
        suite: 's',
        quick: true,
        startedAt: '',
        durationS: 0,
        host: { cpus: 1, cpuModel: '', memoryGiB: 1, node: '', platform: '' },
        settings: {},
        metrics,
        tables: [],
      },
    ],
  };
}

t.test('compare flags a regression only beyond the tolerance, in the worse direction', async (t) => {
  const base = file([
    { name: 'ops', value: 100, unit: 'ops/s', better: 'higher' },
    { name: 'p95', value: 10, unit: 'ms', better: 'lower' },
    { name: 'gone', value: 1, unit: '', better: 'lower' },
  ]);
  const within = compareBench(
    base,
    file([
      { name: 'ops', value: 91, unit: 'ops/s', better: 'higher' },
      { name: 'p95', value: 10.9, unit: 'ms', better: 'lower' },
    ]),
    0.1,
  );
  t.equal(within.regressions, 0);
  t.same(within.onlyInBaseline, ['s.gone']);
  const worse = compareBench(
    base,
    file([
      { name: 'ops', value: 89, unit: 'ops/s', better: 'higher' },
      { name: 'p95', value: 11.5, unit: 'ms', better: 'lower' },
    ]),
    0.1,
  );
  t.equal(worse.regressions, 2);
  const better = compareBench(
    base,
    file([
      { name: 'ops', value: 200, unit: 'ops/s', better: 'higher' },
      { name: 'p95', value: 5, unit: 'ms', better: 'lower' },
    ]),
    0.1,
  );
  t.same(
    better.rows.map((r) => r.verdict),
    ['better', 'better'],
  );
});

t.test('goals are checked in their direction', async (t) => {
  t.equal(
    goalMet({ name: 'a', value: 0.96, unit: '', better: 'higher', goal: { op: '>=', value: 0.95 } }),
    true,
  );
  t.equal(
    goalMet({ name: 'a', value: 1.2, unit: 'x', better: 'lower', goal: { op: '<=', value: 1.1 } }),
    false,
  );
  t.equal(goalMet({ name: 'a', value: 1, unit: '', better: 'lower' }), undefined);
});

t.test('arguments: flags, --name value and --name=value', async (t) => {
  const p = parseArgs(['ann', '--quick', '--chunks', '5000', '--json=out.json']);
  t.same(p.positional, ['ann']);
  t.ok(p.flags.has('quick'));
  t.same(p.options, { chunks: '5000', json: 'out.json' });
  t.throws(() => parseArgs(['ann', '--chunks']), /needs a value/);
});

t.test('charts are self-contained SVG with one path per series', async (t) => {
  const svg = latencyChart('t <&>', { a: [1, 2, 3, 50], b: [2, 4, 8] });
  t.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  t.match(svg, /t &lt;&amp;&gt;/, 'titles are escaped');
  t.equal((svg.match(/<path /g) ?? []).length, 2);
  const sweep = sweepChart('s', [
    {
      label: 'x',
      points: [
        { x: 1, y: 0.5, tag: 'ef 10' },
        { x: 2, y: 0.9, tag: 'ef 40' },
      ],
    },
  ]);
  t.equal((sweep.match(/<circle /g) ?? []).length, 2);
  t.match(sweep, /ef 40/);
});
