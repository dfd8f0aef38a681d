#!/usr/bin/env node
// Lints docs/openapi.json with Redocly's OpenAPI linter (its engine, @redocly/openapi-core, with
// the `recommended` rules of redocly.yaml). Offline by construction. The engine rather than the
// `redocly` CLI: the CLI prints a Node.js 20 end-of-life banner on every run, and Node 20 is
// what this project supports. Exits 1 on any error or warning.
/* global process, console */
import { formatProblems, getTotals, lint, loadConfig } from '@redocly/openapi-core';

const file = process.argv[2] ?? 'docs/openapi.json';
const config = await loadConfig({ configPath: 'redocly.yaml' });
const problems = await lint({ ref: file, config });
const totals = getTotals(problems);
if (problems.length > 0) {
  formatProblems(problems, { format: 'stylish', totals, version: 'openapi-core' });
  process.exitCode = 1;
} else {
  console.log(`${file}: valid OpenAPI 3.1, no lint problems (Redocly recommended rules)`);
}
