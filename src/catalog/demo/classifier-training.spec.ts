import { argMax, predictProbabilities, trainClassifier, type TrainingOptions } from './classifier-training.js';
import { loadIris, stratifiedSplit } from './datasets.js';

const OPTIONS: TrainingOptions = {
  hidden: [],
  epochs: 60,
  batchSize: 16,
  learningRate: 0.05,
  weightDecay: 0.01,
  minStd: 1e-6,
  seed: 'spec',
};

const iris = loadIris();
const split = stratifiedSplit(iris.labels, 0.3, 'spec-split');
const train = (options: Partial<TrainingOptions> = {}) =>
  trainClassifier(iris.features, iris.labels, split.train, 3, { ...OPTIONS, ...options });
const accuracy = (model: ReturnType<typeof train>, rows: number[]) =>
  rows.filter((i) => argMax(predictProbabilities(model, iris.features[i])) === iris.labels[i]).length / rows.length;

it('gives the same weights for the same seed, other weights for another', () => {
  const a = train();
  expect(train().layers).toEqual(a.layers);
  expect(train({ seed: 'other' }).layers[0].weight).not.toEqual(a.layers[0].weight);
});

it('lowers the training loss and classifies held-out flowers well (softmax regression and one hidden layer)', () => {
  for (const hidden of [[], [8]]) {
    const model = train({ hidden });
    expect(model.lossByEpoch.at(-1)!).toBeLessThan(model.lossByEpoch[0] / 2);
    expect(accuracy(model, split.test)).toBeGreaterThanOrEqual(0.9);
    expect(model.layers.map((l) => [l.inFeatures, l.outFeatures])).toEqual(
      hidden.length
        ? [
            [4, 8],
            [8, 3],
          ]
        : [[4, 3]],
    );
  }
});

it('learns nothing it was not shown: an untrained model is near chance', () => {
  expect(accuracy(train({ epochs: 0 }), split.test)).toBeLessThan(0.7);
});

it('standardizes with the training rows only, and floors tiny spreads', () => {
  const model = trainClassifier([[1], [3], [100]], [0, 1, 1], [0, 1], 2, { ...OPTIONS, minStd: 5, epochs: 1 });
  expect(Array.from(model.mean)).toEqual([2]);
  expect(Array.from(model.invStd)).toEqual([Math.fround(0.2)]);
});

it('returns probabilities that sum to 1, and argMax takes the first of equal values', () => {
  const p = predictProbabilities(train(), iris.features[60]);
  expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
  expect(argMax([0.2, 0.4, 0.4])).toBe(1);
});
