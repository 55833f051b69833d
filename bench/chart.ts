import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildChart, type ResultsFile } from './support/chart.js';

/**
 * `npm run bench:chart`: (re)draws bench/results.svg from the last bench/results.json, without
 * running anything. `npm run bench` does the same at its end.
 */
const results = join(import.meta.dirname, 'results.json');
const svg = join(import.meta.dirname, 'results.svg');
writeFileSync(svg, buildChart(JSON.parse(readFileSync(results, 'utf8')) as ResultsFile));
process.stdout.write(`wrote bench/results.svg from bench/results.json\n`);
