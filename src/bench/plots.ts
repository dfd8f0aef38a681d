/**
 * Hand-written SVG charts (no plotting dependency): latency distributions as CDFs, recall
 * against latency for the ef_search sweep, and grouped bars (eval retrieval's quality figures).
 * Suites put raw series into SuiteResult.series under known keys; this module draws whatever it
 * finds.
 *
 *   series.latency: { [label]: number[] }                      -> <suite>-latency.svg
 *   series.sweep:   [{ label, points: [{ x, y, tag }] }]        -> <suite>-recall-vs-latency.svg
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { SuiteResult } from './result.js';
import { percentile } from './stats.js';

export interface SweepSeries {
  label: string;
  points: Array<{ x: number; y: number; tag?: string }>;
}

interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Array<{ label: string; points: Array<[number, number]>; tags?: string[] }>;
  xLog?: boolean;
  yMin?: number;
  yMax?: number;
  /** Draw markers at each point (sweeps) rather than a plain line (CDFs). */
  markers?: boolean;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const W = 720;
const H = 420;
const M = { left: 64, right: 190, top: 40, bottom: 52 };

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

function niceTicks(min: number, max: number, count = 6): number[] {
  const span = max - min || 1;
  const step0 = span / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? mag * 10;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min && v <= max) ticks.push(v);
    }
  }
  return ticks;
}

export function renderChart(chart: Chart): string {
  const all = chart.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]).filter((x) => Number.isFinite(x) && (!chart.xLog || x > 0));
  const ys = all.map((p) => p[1]).filter(Number.isFinite);
  let xMin = Math.min(...xs);
  let xMax = Math.max(...xs);
  if (chart.xLog) {
    // A little room on both sides so the extreme points are not drawn on the frame.
    xMin = Math.max(xMin * 0.8, 1e-3);
    xMax = xMax * 1.25;
  } else {
    xMin = Math.min(0, xMin);
    xMax = xMax * 1.05 || 1;
  }
  const yMin = chart.yMin ?? Math.min(...ys);
  const yMax = chart.yMax ?? Math.max(...ys);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number): number =>
    M.left +
    (chart.xLog
      ? (Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))
      : (x - xMin) / (xMax - xMin || 1)) *
      pw;
  const sy = (y: number): number => M.top + ph - ((y - yMin) / (yMax - yMin || 1)) * ph;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  const xTicks = chart.xLog ? logTicks(xMin, xMax) : niceTicks(xMin, xMax);
  for (const t of xTicks) {
    const x = sx(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${M.top}" x2="${x}" y2="${M.top + ph}" stroke="#eee"/>`);
    parts.push(`<text x="${x}" y="${M.top + ph + 16}" text-anchor="middle">${t}</text>`);
  }
  for (const t of niceTicks(yMin, yMax, 5)) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${M.left}" y1="${y}" x2="${M.left + pw}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${M.left - 6}" y="${Number(y) + 4}" text-anchor="end">${t}</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(
    `<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
  );
  chart.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = series.points.filter(
      ([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!chart.xLog || x > 0),
    );
    if (pts.length === 0) return;
    const d = pts.map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
    if (chart.markers) {
      pts.forEach(([x, y], j) => {
        parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${color}"/>`);
        const tag = series.tags?.[j];
        if (tag)
          parts.push(
            `<text x="${(sx(x) + 4).toFixed(1)}" y="${(sy(y) - 5).toFixed(1)}" font-size="9" fill="${color}">${escapeXml(tag)}</text>`,
          );
      });
    }
    const ly = M.top + 14 + i * 18;
    parts.push(
      `<line x1="${M.left + pw + 12}" y1="${ly - 4}" x2="${M.left + pw + 32}" y2="${ly - 4}" stroke="${color}" stroke-width="3"/>`,
    );
    parts.push(`<text x="${M.left + pw + 38}" y="${ly}">${escapeXml(series.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export interface BarChart {
  title: string;
  yLabel: string;
  /** One cluster of bars per group (e.g. a metric), one bar per series in each. */
  groups: string[];
  series: Array<{ label: string; values: number[] }>;
  yMax?: number;
  /** A note under the title (e.g. the command that produced the figures). */
  subtitle?: string;
}

/** Grouped bars with their values printed on top; non-finite values leave a gap. */
export function renderBarChart(chart: BarChart): string {
  const values = chart.series.flatMap((s) => s.values).filter(Number.isFinite);
  const yMax = chart.yMax ?? Math.max(...values, 0) * 1.1;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sy = (y: number): number => M.top + ph - (y / (yMax || 1)) * ph;
  const groupW = pw / Math.max(1, chart.groups.length);
  const barW = (groupW * 0.8) / Math.max(1, chart.series.length);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  if (chart.subtitle)
    parts.push(
      `<text x="${W / 2}" y="32" text-anchor="middle" font-size="10" fill="#555">${escapeXml(chart.subtitle)}</text>`,
    );
  for (const t of niceTicks(0, yMax, 5)) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${M.left}" y1="${y}" x2="${M.left + pw}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${M.left - 6}" y="${Number(y) + 4}" text-anchor="end">${t}</text>`);
  }
  chart.groups.forEach((group, g) => {
    const x0 = M.left + g * groupW + groupW * 0.1;
    parts.push(
      `<text x="${(M.left + (g + 0.5) * groupW).toFixed(1)}" y="${M.top + ph + 18}" text-anchor="middle">${escapeXml(group)}</text>`,
    );
    chart.series.forEach((series, i) => {
      const v = series.values[g];
      if (v === undefined || !Number.isFinite(v)) return;
      const x = x0 + i * barW;
      const y = sy(Math.min(v, yMax));
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW * 0.9).toFixed(1)}" height="${(M.top + ph - y).toFixed(1)}" fill="${COLORS[i % COLORS.length]!}"/>`,
      );
      parts.push(
        `<text x="${(x + barW * 0.45).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-size="9">${v.toFixed(3)}</text>`,
      );
    });
  });
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
  );
  chart.series.forEach((series, i) => {
    const ly = M.top + 14 + i * 18;
    parts.push(
      `<rect x="${M.left + pw + 12}" y="${ly - 10}" width="20" height="10" fill="${COLORS[i % COLORS.length]!}"/>`,
    );
    parts.push(`<text x="${M.left + pw + 38}" y="${ly}">${escapeXml(series.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** A CDF of latency samples, cut at the 99.5th percentile so one outlier does not flatten the rest. */
export function latencyChart(title: string, samples: Record<string, number[]>): string {
  const series = Object.entries(samples)
    .filter(([, values]) => values.length > 0)
    .map(([label, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const cut = percentile(sorted, 0.995);
      const points: Array<[number, number]> = sorted
        .filter((v) => v <= cut)
        .map((v, i) => [v, ((i + 1) / sorted.length) * 100]);
      const p = (q: number): string => percentile(sorted, q).toFixed(1);
      return { label: `${label} (p50 ${p(0.5)}, p95 ${p(0.95)})`, points };
    });
  return renderChart({
    title,
    xLabel: 'latency (ms, log scale)',
    yLabel: 'percent of requests at or below',
    series,
    xLog: true,
    yMin: 0,
    yMax: 100,
  });
}

export function sweepChart(title: string, sweep: SweepSeries[]): string {
  return renderChart({
    title,
    xLabel: 'p50 latency of memory.search (ms, log scale)',
    yLabel: 'recall@10',
    xLog: true,
    markers: true,
    yMax: 1,
    series: sweep.map((s) => ({
      label: s.label,
      points: s.points.map((p) => [p.x, p.y] as [number, number]),
      tags: s.points.map((p) => p.tag ?? ''),
    })),
  });
}

/** Writes the charts each result's series allow; returns the files written. */
export async function writePlots(results: SuiteResult[], dir: string): Promise<string[]> {
  const written: string[] = [];
  for (const result of results) {
    const series = result.series ?? {};
    const charts: Array<[string, string]> = [];
    const latency = series.latency as Record<string, number[]> | undefined;
    if (latency && Object.keys(latency).length) {
      charts.push([
        `${result.suite}-latency.svg`,
        latencyChart(`${result.suite}: latency distribution${result.quick ? ' (--quick)' : ''}`, latency),
      ]);
    }
    const sweep = series.sweep as SweepSeries[] | undefined;
    if (sweep && sweep.length) {
      charts.push([
        `${result.suite}-recall-vs-latency.svg`,
        sweepChart(
          `${result.suite}: recall@10 vs latency, ef_search sweep${result.quick ? ' (--quick)' : ''}`,
          sweep,
        ),
      ]);
    }
    if (charts.length) await mkdir(dir, { recursive: true });
    for (const [name, svg] of charts) {
      const file = path.join(dir, name);
      await writeFile(file, svg);
      written.push(file);
    }
  }
  return written;
}
