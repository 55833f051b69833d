import type { TestModelName } from '../inference/test-models.js';

/** The demo catalog `npm run seed` (and the embedded default's first start) loads. */
export const DEMO_PASSWORD = 'demo-password-2026';

export const DEMO_PUBLISHERS = [
  { key: 'ada', email: 'ada@demo.marketplace.test', displayName: 'Ada Vision Labs' },
  { key: 'grace', email: 'grace@demo.marketplace.test', displayName: 'Grace Language Works' },
  { key: 'linus', email: 'linus@demo.marketplace.test', displayName: 'Linus Tabular' },
] as const;

export const DEMO_CONSUMERS = [
  { key: 'c1', email: 'consumer1@demo.marketplace.test', displayName: 'Chen (retail analytics)' },
  { key: 'c2', email: 'consumer2@demo.marketplace.test', displayName: 'Priya (fintech)' },
  { key: 'c3', email: 'consumer3@demo.marketplace.test', displayName: 'Mateo (robotics)' },
  { key: 'c4', email: 'consumer4@demo.marketplace.test', displayName: 'Amara (health research)' },
  { key: 'c5', email: 'consumer5@demo.marketplace.test', displayName: 'Jonas (indie dev)' },
] as const;

type PublisherKey = (typeof DEMO_PUBLISHERS)[number]['key'];
type ConsumerKey = (typeof DEMO_CONSUMERS)[number]['key'];

export type DemoModel = {
  slug: string;
  owner: PublisherKey;
  name: string;
  description: string;
  tags: string[];
  task: string;
  license: string;
  pricePerRequest: string;
  freeRequestsPerMonth: number;
  predictionCount: number;
  file: TestModelName;
  /** Oldest first; the last one becomes the default version. */
  versions: { version: string; changelog: string }[];
  reviews: { author: ConsumerKey; rating: number; title: string; body: string; helpfulCount?: number }[];
};

export const DEMO_MODELS: DemoModel[] = [
  {
    slug: 'affine-relu',
    owner: 'linus',
    name: 'Affine ReLU feature transform',
    description:
      'Scales, shifts and rectifies four numeric features: y = max(0, 2x + 1). A tiny model for smoke tests.',
    tags: ['tabular', 'preprocessing', 'demo'],
    task: 'feature-transform',
    license: 'MIT',
    pricePerRequest: '0.0001',
    freeRequestsPerMonth: 1000,
    predictionCount: 18250,
    file: 'elementwise',
    versions: [
      { version: '1.0.0', changelog: 'First release.' },
      { version: '1.1.0', changelog: 'Faster load; same outputs.' },
    ],
    reviews: [
      { author: 'c1', rating: 5, title: 'Does exactly what it says', body: 'Handy for pipelines.', helpfulCount: 7 },
      { author: 'c5', rating: 4, title: 'Good smoke test', body: 'I use it to check my client code.' },
    ],
  },
  {
    slug: 'intent-classifier-small',
    owner: 'grace',
    name: 'Intent classifier (small)',
    description: 'A compact MLP that maps 16 sentence-embedding features to 4 customer-support intents.',
    tags: ['nlp', 'classification', 'customer-support'],
    task: 'text-classification',
    license: 'Apache-2.0',
    pricePerRequest: '0.0005',
    freeRequestsPerMonth: 500,
    predictionCount: 9420,
    file: 'mlp-small',
    versions: [
      { version: '0.9.0', changelog: 'Beta.' },
      { version: '1.0.0', changelog: 'Stable release, retrained on more data.' },
    ],
    reviews: [
      { author: 'c1', rating: 5, title: 'Accurate for our tickets', body: 'Routing improved a lot.', helpfulCount: 12 },
      { author: 'c2', rating: 5, title: 'Fast', body: 'Low latency, cheap.' },
      { author: 'c3', rating: 4, title: 'Solid', body: 'Would love more intents.' },
      { author: 'c4', rating: 5, title: 'Great value', body: 'Free tier covers our tests.' },
    ],
  },
  {
    slug: 'price-elasticity',
    owner: 'linus',
    name: 'Price elasticity estimator',
    description: 'Combines float price features with integer quantity counts; returns per-item demand and a total.',
    tags: ['tabular', 'retail', 'forecasting'],
    task: 'regression',
    license: 'proprietary',
    pricePerRequest: '0.002',
    freeRequestsPerMonth: 100,
    predictionCount: 3110,
    file: 'two-inputs',
    versions: [{ version: '2.0.0', changelog: 'Two inputs: prices and quantities.' }],
    reviews: [
      { author: 'c2', rating: 4, title: 'Useful', body: 'Integrates with our pricing service.' },
      { author: 'c5', rating: 3, title: 'OK', body: 'Documentation could be better.' },
    ],
  },
  {
    slug: 'tensor-echo',
    owner: 'ada',
    name: 'Tensor echo (all dtypes)',
    description: 'Returns every input unchanged, for each ONNX element type: a reference for client libraries.',
    tags: ['developer-tools', 'demo'],
    task: 'identity',
    license: 'MIT',
    pricePerRequest: '0',
    freeRequestsPerMonth: 0,
    predictionCount: 640,
    file: 'all-dtypes',
    versions: [{ version: '1.0.0', changelog: 'float32 to string.' }],
    reviews: [{ author: 'c3', rating: 5, title: 'Perfect for testing SDKs', body: 'Covers every dtype.' }],
  },
  {
    slug: 'image-quality-scorer',
    owner: 'ada',
    name: 'Image quality scorer',
    description: 'Scores image feature vectors for sharpness and exposure; used to filter uploads in photo apps.',
    tags: ['vision', 'images', 'quality'],
    task: 'image-scoring',
    license: 'CC-BY-4.0',
    pricePerRequest: '0.001',
    freeRequestsPerMonth: 250,
    predictionCount: 12002,
    file: 'mlp-small',
    versions: [{ version: '3.1.0', changelog: 'Calibrated scores.' }],
    reviews: [
      { author: 'c4', rating: 5, title: 'Reliable', body: 'Catches blurry photos well.', helpfulCount: 3 },
      { author: 'c1', rating: 4, title: 'Good', body: 'A few false positives at night.' },
      { author: 'c2', rating: 5, title: 'Recommended', body: 'Fast and accurate.' },
    ],
  },
  {
    slug: 'sensor-normaliser',
    owner: 'grace',
    name: 'Sensor normaliser',
    description: 'Normalises four robot sensor channels before control models; clips negative noise to zero.',
    tags: ['robotics', 'preprocessing'],
    task: 'feature-transform',
    license: 'BSD-3-Clause',
    pricePerRequest: '0.00005',
    freeRequestsPerMonth: 5000,
    predictionCount: 410,
    file: 'elementwise',
    versions: [{ version: '0.1.0', changelog: 'Experimental.' }],
    reviews: [{ author: 'c3', rating: 2, title: 'Too simple', body: 'Needed per-channel scaling.' }],
  },
];
