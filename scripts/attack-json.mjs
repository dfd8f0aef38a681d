#!/usr/bin/env node
// Abusive-JSON probe (issue 11, item 7): sends the attack bodies to a running daemon while timing
// GET /healthz every 50 ms (from a separate process) and sampling the daemon's RSS from /proc/<pid>/status.
// Usage: node scripts/attack-json.mjs <base url> <api token> <daemon pid>
/* global process, console, setTimeout, setInterval, clearInterval, performance, fetch, Buffer */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [base, token, pid] = process.argv.slice(2);
if (!base || !token || !pid) {
  console.error('usage: node scripts/attack-json.mjs <base url> <api token> <daemon pid>');
  process.exit(2);
}
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

// The prober runs in its own process, so building and sending the attack bodies here cannot delay it.
const PROBER = `
const base = process.argv[1];
const latencies = [];
let failures = 0;
let running = true;
process.on('SIGTERM', () => (running = false));
(async () => {
  while (running) {
    const t0 = performance.now();
    // A fresh connection per probe: a kept-alive one may be closed by the server while it is blocked.
    const ok = await fetch(base + '/healthz', { headers: { connection: 'close' } }).then(
      (r) => r.arrayBuffer().then(() => r.ok),
      () => false,
    );
    latencies.push(performance.now() - t0);
    if (!ok) failures++;
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stdout.write(JSON.stringify({ latencies, failures }));
})();
`;

async function probeWhile(work) {
  const prober = spawn(process.execPath, ['-e', PROBER, base], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  prober.stdout.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => prober.on('exit', resolve));
  let peak = rssMb();
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 50);
  await sleep(200);
  const t0 = performance.now();
  const outcome = await work();
  const wall = performance.now() - t0;
  await sleep(200);
  clearInterval(sampler);
  peak = Math.max(peak, rssMb());
  prober.kill('SIGTERM');
  await exited;
  const { latencies, failures } = JSON.parse(out);
  return { outcome, wall, latencies, peak, failures };
}

function send(body) {
  const t0 = performance.now();
  return fetch(`${base}/v1/chunks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  }).then(
    async (r) => ({ status: r.status, code: (await r.text()).slice(0, 60), ms: performance.now() - t0 }),
    (e) => ({ status: 'error', code: e.cause?.code ?? e.message, ms: performance.now() - t0 }),
  );
}

const deep = (levels) =>
  Buffer.from(
    `{"user_id":"attacker","doc_id":"d","text":"t","x":${'['.repeat(levels)}${']'.repeat(levels)}}`,
  );
const wide = (n) =>
  Buffer.from(`{"user_id":"attacker","doc_id":"d","text":"t","x":[${'{},'.repeat(n - 1)}{}]}`);

function report(name, r) {
  const statuses = (Array.isArray(r.outcome) ? r.outcome : [r.outcome]).map((o) => `${o.status}`);
  const slowest = Math.max(...(Array.isArray(r.outcome) ? r.outcome : [r.outcome]).map((o) => o.ms));
  console.log(
    `${name}: statuses ${[...new Set(statuses)].join('/')} (x${statuses.length}), slowest request ${slowest.toFixed(0)} ms, ` +
      `/healthz median ${quantile(r.latencies, 0.5).toFixed(1)} ms, max ${Math.max(...r.latencies).toFixed(0)} ms ` +
      `(${r.latencies.length} probes, ${r.failures} failed), RSS peak ${r.peak.toFixed(0)} MB`,
  );
}

console.log(`RSS at start ${rssMb().toFixed(0)} MB`);
report('idle (2 s)', await probeWhile(async () => (await sleep(2000), { status: '-', ms: 0 })));
report('one body, 8M nesting levels (16 MB)', await probeWhile(() => send(deep(8_000_000))));
await sleep(1000);
const wideBody = wide(4_000_000);
report(
  '12 concurrent bodies of 4M {} (12 MB each)',
  await probeWhile(() => Promise.all(Array.from({ length: 12 }, () => send(wideBody)))),
);
await sleep(2000);
console.log(`RSS 2 s after the attack ${rssMb().toFixed(0)} MB`);
