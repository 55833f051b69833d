// The demo catalog's datasets, parsed, and the held-out split its models are measured on.
import { seededRandom } from '../../inference/onnx-model-builder.js';
import { DIGITS_TEXT } from './datasets/digits.data.js';
import { IRIS_CSV } from './datasets/iris.data.js';

/** A classification dataset: one feature row and one class index per example. */
export interface Dataset {
  featureNames: readonly string[];
  /** Class names, by class index. */
  classNames: readonly string[];
  features: number[][];
  labels: number[];
}

export const IRIS_CLASSES = ['setosa', 'versicolor', 'virginica'] as const;

/** Fisher's Iris: 150 rows of four measurements in cm (sepal length, sepal width, petal length, petal width). */
export function loadIris(): Dataset {
  const [header, ...lines] = IRIS_CSV.trim().split('\n');
  const featureNames = header.split(',').slice(0, 4);
  const features: number[][] = [];
  const labels: number[] = [];
  for (const line of lines) {
    const cells = line.split(',');
    const label = IRIS_CLASSES.indexOf(cells[4] as (typeof IRIS_CLASSES)[number]);
    if (cells.length !== 5 || label < 0) throw new Error(`iris: bad row "${line}"`);
    features.push(cells.slice(0, 4).map(Number));
    labels.push(label);
  }
  return { featureNames, classNames: IRIS_CLASSES, features, labels };
}

export const DIGIT_PIXELS = 64;

/** The UCI 8×8 digits: 1,797 rows of 64 pixels (row by row, each 0..16), labels 0..9. */
export function loadDigits(): Dataset {
  const features: number[][] = [];
  const labels: number[] = [];
  for (const line of DIGITS_TEXT.trim().split('\n')) {
    const [digit, pixels] = line.split(' ') as [string, string | undefined];
    const row = Array.from(pixels ?? '', (c) => parseInt(c, 17));
    if (!/^[0-9]$/.test(digit) || row.length !== DIGIT_PIXELS || row.some((v) => !(v >= 0 && v <= 16)))
      throw new Error(`digits: bad row "${line}"`);
    features.push(row);
    labels.push(Number(digit));
  }
  const featureNames = Array.from({ length: DIGIT_PIXELS }, (_, i) => `r${Math.floor(i / 8)}c${i % 8}`);
  return { featureNames, classNames: Array.from({ length: 10 }, (_, d) => String(d)), features, labels };
}

/** Row indices for training and for the held-out test, each in dataset order. */
export interface Split {
  train: number[];
  test: number[];
}

/**
 * A stratified split: from each class, `round(testFraction × its size)` rows chosen by a shuffle
 * seeded with `seed` are held out. The same arguments give the same split on every machine, so the
 * accuracy a description states can be checked again on exactly the rows it was measured on.
 */
export function stratifiedSplit(labels: readonly number[], testFraction: number, seed: string): Split {
  const random = seededRandom(seed);
  const byClass = new Map<number, number[]>();
  labels.forEach((label, i) => byClass.set(label, [...(byClass.get(label) ?? []), i]));
  const held = new Set<number>();
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = byClass.get(label)!;
    shuffle(rows, random);
    for (const i of rows.slice(0, Math.round(rows.length * testFraction))) held.add(i);
  }
  const train: number[] = [];
  const test: number[] = [];
  labels.forEach((_, i) => (held.has(i) ? test : train).push(i));
  return { train, test };
}

/** Fisher–Yates, in place. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
