import { loadDigits, loadIris, stratifiedSplit } from './datasets.js';

const countBy = (labels: readonly number[]) =>
  labels.reduce<Record<number, number>>((acc, l) => ({ ...acc, [l]: (acc[l] ?? 0) + 1 }), {});

describe('loadIris', () => {
  const iris = loadIris();

  it('has the 150 flowers, 50 of each species, four measurements each', () => {
    expect(iris.features).toHaveLength(150);
    expect(iris.features.every((r) => r.length === 4)).toBe(true);
    expect(countBy(iris.labels)).toEqual({ 0: 50, 1: 50, 2: 50 });
    expect(iris.featureNames).toEqual(['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
  });

  it("has Fisher's values, including the two rows the UCI copy gets wrong", () => {
    expect([iris.features[0], iris.labels[0]]).toEqual([[5.1, 3.5, 1.4, 0.2], 0]);
    expect(iris.features[34]).toEqual([4.9, 3.1, 1.5, 0.2]);
    expect(iris.features[37]).toEqual([4.9, 3.6, 1.4, 0.1]);
    expect([iris.features[149], iris.labels[149]]).toEqual([[5.9, 3.0, 5.1, 1.8], 2]);
  });
});

describe('loadDigits', () => {
  const digits = loadDigits();

  it('has the 1,797 images of 64 pixels in 0..16, 174 to 183 of each digit', () => {
    expect(digits.features).toHaveLength(1797);
    expect(
      digits.features.every((r) => r.length === 64 && r.every((v) => Number.isInteger(v) && v >= 0 && v <= 16)),
    ).toBe(true);
    const counts = Object.values(countBy(digits.labels));
    expect(counts).toHaveLength(10);
    expect([Math.min(...counts), Math.max(...counts)]).toEqual([174, 183]);
  });

  it('decodes the first image as scikit-learn load_digits has it', () => {
    expect(digits.labels[0]).toBe(0);
    expect(digits.features[0].slice(0, 16)).toEqual([0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]);
    expect(digits.features[0].reduce((s, v) => s + v, 0)).toBe(294);
  });
});

describe('stratifiedSplit', () => {
  const { labels } = loadIris();

  it('holds out the same share of every class, disjoint from training, covering every row', () => {
    const { train, test } = stratifiedSplit(labels, 0.3, 's');
    expect(countBy(test.map((i) => labels[i]))).toEqual({ 0: 15, 1: 15, 2: 15 });
    expect([...train, ...test].sort((a, b) => a - b)).toEqual(labels.map((_, i) => i));
  });

  it('is the same for the same seed and differs for another', () => {
    expect(stratifiedSplit(labels, 0.3, 's')).toEqual(stratifiedSplit(labels, 0.3, 's'));
    expect(stratifiedSplit(labels, 0.3, 's').test).not.toEqual(stratifiedSplit(labels, 0.3, 't').test);
  });
});
