/**
 * The bench machinery that decides verdicts: statistics, the compare gate, argument parsing and
 * the SVG writer. Pure and fast.
 */
import t from 'tap';

import { compareBench, failureLines, onlySuites } from '../../src/bench/compare.js';
import { type OpenLoopOutcome, startOpenLoop } from '../../src/bench/open-loop.js';
import { latencyChart, sweepChart } from '../../src/bench/plots.js';
import { type BenchFile, goalMet, type Metric } from '../../src/bench/result.js';
import { median, percentiles, rotated } from '../../src/bench/stats.js';
import { parseBenchArgs } from '../../src/cli/commands/bench.js';

t.test('median and nearest-rank percentiles', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 2, 3]), 2.5);
  const p = percentiles(Array.from({ length: 100 }, (_, i) => i + 1));
  t.same([p.p50, p.p95, p.p99, p.max, p.n], [50, 95, 99, 100, 100]);
  t.ok(Number.isNaN(median([])));
});

function file(metrics: Metric[], quick = true): BenchFile {
  return {
    format: 'memvault-bench/1',
    results: [
      {
        suite: 's',
        quick,
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
  t.equal(within.failures, 1, 'the missing metric alone fails the gate');
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
    ['better', 'better', 'missing'],
  );
});

t.test('a metric the candidate lacks or reports as NaN / null / Infinity fails the gate', async (t) => {
  const base = file([
    { name: 'ops', value: 100, unit: 'ops/s', better: 'higher' },
    { name: 'p95', value: 10, unit: 'ms', better: 'lower' },
    { name: 'recall', value: 0.98, unit: '', better: 'higher' },
    { name: 'ratio', value: 1.05, unit: 'x', better: 'lower' },
  ]);
  const same = compareBench(base, base, 0.1);
  t.equal(same.failures, 0);
  t.same(failureLines(same), []);
  // What a crashed or half-finished suite writes: one metric absent, others NaN (JSON null), Infinity.
  const broken = compareBench(
    base,
    file([
      { name: 'ops', value: 100, unit: 'ops/s', better: 'higher' },
      { name: 'p95', value: Number.NaN, unit: 'ms', better: 'lower' },
      { name: 'recall', value: null as unknown as number, unit: '', better: 'higher' },
    ]),
    0.1,
  );
  t.equal(broken.regressions, 0, 'nothing moved the worse way');
  t.same(broken.onlyInBaseline, ['s.ratio']);
  t.same(broken.notFinite, ['s.p95', 's.recall']);
  t.equal(broken.failures, 3);
  t.same(
    broken.rows.map((r) => r.verdict),
    ['ok', 'not finite', 'not finite', 'missing'],
  );
  t.match(
    failureLines(broken).join('\n'),
    /missing from candidate.*s\.ratio[\s\S]*not finite.*s\.p95, s\.recall/,
  );
  const infinite = compareBench(
    file([{ name: 'p95', value: 10, unit: 'ms', better: 'lower' }]),
    file([{ name: 'p95', value: Number.POSITIVE_INFINITY, unit: 'ms', better: 'lower' }]),
    0.1,
  );
  t.equal(infinite.failures, 1);
  const wholeSuiteGone = compareBench(base, { format: 'memvault-bench/1', results: [] }, 0.1);
  t.equal(wholeSuiteGone.failures, 4, 'a suite that crashed under bench all fails every one of its metrics');
});

t.test(
  '--only holds a one-suite candidate against an all-suites baseline; an unknown name is refused',
  async (t) => {
    const all = file([{ name: 'ops', value: 100, unit: 'ops/s', better: 'higher' }]);
    all.results.push({ ...all.results[0]!, suite: 'other' });
    const one = file([{ name: 'ops', value: 100, unit: 'ops/s', better: 'higher' }]);
    t.equal(compareBench(all, one, 0.1).failures, 1, 'without --only the other suite counts as missing');
    const [a, b] = onlySuites(all, one, ['s']);
    t.equal(compareBench(a, b, 0.1).failures, 0);
    t.same(
      a.results.map((r) => r.suite),
      ['s'],
    );
    t.throws(() => onlySuites(all, one, ['s', 'typo']), /no results for typo/);
  },
);

t.test('compare names the suites where a quick run meets a full one', async (t) => {
  const metrics: Metric[] = [{ name: 'ops', value: 100, unit: 'ops/s', better: 'higher' }];
  t.same(compareBench(file(metrics, true), file(metrics, true), 0.1).mixedRuns, []);
  t.same(compareBench(file(metrics, false), file(metrics, true), 0.1).mixedRuns, [
    's: baseline full, candidate quick',
  ]);
});

t.test('rotated order: every side leads equally often over a full cycle', async (t) => {
  t.same(rotated(['a', 'b'], 0), ['a', 'b']);
  t.same(rotated(['a', 'b'], 1), ['b', 'a']);
  t.same(rotated(['a', 'b', 'c'], 4), ['b', 'c', 'a']);
  const leaders = [0, 1, 2, 3, 4, 5].map((r) => rotated(['a', 'b', 'c'], r)[0]);
  t.same(leaders, ['a', 'b', 'c', 'a', 'b', 'c']);
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

t.test('arguments: flags, --name value and --name=value, strictly', async (t) => {
  const p = parseBenchArgs(['ann', '--quick', '--chunks', '5000', '--json=out.json'], ['chunks']);
  t.same(p.positional, ['ann']);
  t.same([...p.flags], ['quick']);
  t.same(p.options, { chunks: '5000', json: 'out.json' });
  t.same(
    [...parseBenchArgs(['compare', 'a', 'b', '--allow-mixed']).flags],
    ['allow-mixed'],
    '--allow-mixed takes no value',
  );
  t.throws(() => parseBenchArgs(['ann', '--chunks'], ['chunks']), {
    code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
  });
  t.throws(
    () => parseBenchArgs(['ann', '--chunk', '5'], ['chunks']),
    /Unknown option '--chunk'/,
    'a near miss',
  );
  t.throws(() => parseBenchArgs(['ann', '--quick=yes']), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });
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

t.test('open loop: a send delayed by a blocked event loop counts from when it was due', async (t) => {
  const outcomes: Array<OpenLoopOutcome<number>> = [];
  const loop = startOpenLoop({
    ratePerS: 100,
    send: async (i) => i,
    onSettled: (o) => outcomes.push(o),
  });
  await new Promise((r) => setTimeout(r, 30));
  const blockedFrom = performance.now();
  while (performance.now() - blockedFrom < 200); // the suite's own work, on the generator's thread
  await loop.stop();
  const due = outcomes.filter((o) => o.scheduledAt > blockedFrom + 20 && o.scheduledAt < blockedFrom + 180);
  t.ok(due.length >= 10, `the queries due during the block were sent, not dropped (${due.length})`);
  for (const o of due) {
    t.ok(o.lateMs >= 15, `query ${o.index} sent late (${o.lateMs.toFixed(1)} ms)`);
    t.ok(o.latencyMs >= o.lateMs, 'and its latency includes that lateness');
  }
  t.same(
    outcomes.map((o) => o.index),
    Array.from({ length: loop.sent }, (_, i) => i),
    'every request sent settled once, none skipped',
  );
});
