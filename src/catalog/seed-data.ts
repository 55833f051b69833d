import { ALL_DTYPES, TEST_MODELS } from '../inference/test-models.js';
import { DIGITS_SPEC, IRIS_SPEC, trainDemoClassifier } from './demo/trained-classifiers.js';
import type { VersionMetadataJson } from '../entities/model-version.entity.js';

/**
 * The demo catalog `npm run seed` (and the embedded default's first start) loads: two small models
 * trained at seed time on public datasets shipped in the repository, and three synthetic ones
 * that say so, for trying the API. It has no reviews and no predictions: ratings and
 * `predictionCount` start at zero and move only through real use, as analytics shows.
 */

/** The password of every demo account. */
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

/**
 * The two sign-ins the README's Quickstart uses: a consumer who runs models, and the publisher of
 * `iris-species` (who may read its `modelAnalytics`).
 */
export const DEMO_LOGINS = {
  consumer: { email: DEMO_CONSUMERS[0].email, password: DEMO_PASSWORD },
  publisher: { email: DEMO_PUBLISHERS[2].email, password: DEMO_PASSWORD },
} as const;

type PublisherKey = (typeof DEMO_PUBLISHERS)[number]['key'];

/** A model file and the description written for it. */
export type DemoArtifact = {
  bytes: Uint8Array;
  description: string;
  /** What consumers read about its tensors (updateVersionMetadata's shape); absent: nothing. */
  metadata?: VersionMetadataJson;
};

export type DemoModel = {
  slug: string;
  owner: PublisherKey;
  name: string;
  tags: string[];
  task: string;
  license: string;
  pricePerRequest: string;
  freeRequestsPerMonth: number;
  /** Builds the file (training it, for the real models); called only when a version is missing. */
  artifact: () => DemoArtifact;
  /** Oldest first; the last one becomes the default version. */
  versions: { version: string; changelog: string }[];
};

const SYNTHETIC = 'Synthetic, for trying the API: a fixed computation, no trained weights, no meaning beyond it.';

export const DEMO_MODELS: DemoModel[] = [
  {
    slug: 'iris-species',
    owner: 'linus',
    name: "Iris species classifier (trained on Fisher's Iris)",
    tags: ['tabular', 'classification', 'iris', 'trained-demo'],
    task: 'tabular-classification',
    // Derived from a CC BY 4.0 data set; its description gives the attribution.
    license: 'CC-BY-4.0',
    pricePerRequest: '0.0001',
    freeRequestsPerMonth: 1000,
    artifact: () => trainDemoClassifier(IRIS_SPEC),
    versions: [
      { version: '1.0.0', changelog: 'Softmax regression, trained at seed time (accuracy in the description).' },
    ],
  },
  {
    slug: 'digits-8x8',
    owner: 'ada',
    name: 'Handwritten digit classifier, 8×8 (trained on UCI digits)',
    tags: ['vision', 'images', 'classification', 'digits', 'trained-demo'],
    task: 'image-classification',
    license: 'CC-BY-4.0',
    pricePerRequest: '0.0002',
    freeRequestsPerMonth: 1000,
    artifact: () => trainDemoClassifier(DIGITS_SPEC),
    versions: [
      {
        version: '1.0.0',
        changelog: 'One hidden layer of 32 units, trained at seed time (accuracy in the description).',
      },
    ],
  },
  {
    slug: 'affine-relu',
    owner: 'linus',
    name: 'Affine ReLU (synthetic, for trying the API)',
    tags: ['synthetic', 'developer-tools'],
    task: 'feature-transform',
    license: 'MIT',
    pricePerRequest: '0.0001',
    freeRequestsPerMonth: 1000,
    artifact: () => ({
      bytes: TEST_MODELS.elementwise.build(),
      description: [
        SYNTHETIC,
        'Computes y = max(0, 2x + 1) element by element. Input "x": float32 [N, 4]; output "y": float32 [N, 4].',
        'Example input: [{"name":"x","dtype":"float32","shape":[1,4],"data":[-1,0,1,2]}]',
        'Expected output: y [0, 1, 3, 5].',
        'Two versions with the same graph, so that pinning one (`predict(version: "1.0.0")`) can be tried.',
      ].join('\n'),
    }),
    versions: [
      { version: '1.0.0', changelog: 'y = max(0, 2x + 1).' },
      { version: '1.1.0', changelog: 'The same graph as 1.0.0: a second version to pin or to default to.' },
    ],
  },
  {
    slug: 'two-input-arithmetic',
    owner: 'grace',
    name: 'Two-input arithmetic (synthetic, for trying the API)',
    tags: ['synthetic', 'developer-tools'],
    task: 'arithmetic',
    license: 'MIT',
    pricePerRequest: '0.002',
    freeRequestsPerMonth: 100,
    artifact: () => ({
      bytes: TEST_MODELS['two-inputs'].build(),
      description: [
        SYNTHETIC,
        'Two inputs of two dtypes and two outputs: y = x × k and s = the row sums of k.',
        'Inputs "x": float32 [N, 3], "k": int64 [N, 3]; outputs "y": float32 [N, 3], "s": int64 [N].',
        'Example input: [{"name":"x","dtype":"float32","shape":[1,3],"data":[0.5,1,2]},' +
          '{"name":"k","dtype":"int64","shape":[1,3],"data":[2,3,4]}]',
        'Expected output: y [1, 3, 8], s ["9"]. Priced above its free allowance, to try billing.',
      ].join('\n'),
    }),
    versions: [{ version: '1.0.0', changelog: 'y = x × k, s = row sums of k.' }],
  },
  {
    slug: 'tensor-echo',
    owner: 'ada',
    name: 'Tensor echo, every dtype (synthetic, for trying the API)',
    tags: ['synthetic', 'developer-tools'],
    task: 'identity',
    license: 'MIT',
    pricePerRequest: '0',
    freeRequestsPerMonth: 0,
    artifact: () => ({
      bytes: TEST_MODELS['all-dtypes'].build(),
      description: [
        SYNTHETIC,
        `Returns every input unchanged, one per ONNX element type (${ALL_DTYPES.join(', ')}): input "<dtype>" ` +
          'of shape [n] (one n for all) comes back as output "<dtype>_out". A reference for client libraries.',
      ].join('\n'),
    }),
    versions: [{ version: '1.0.0', changelog: 'Identity for float32 to string.' }],
  },
];
