// `npm run models:generate [-- --large] [-- --out <dir>]`
// Writes the small test models to test/fixtures/models/ (committed) or to --out. The 1024-wide
// MLP (~8.5 MB) is written only with --large, since it is built on demand elsewhere
// (ensureTestModel) and must not be committed.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TEST_MODEL_NAMES, TEST_MODELS, TEST_MODELS_DIR } from '../src/inference/test-models.js';

const { values } = parseArgs({
  options: {
    large: { type: 'boolean', default: false },
    out: { type: 'string', default: TEST_MODELS_DIR },
  },
});

const outDir = values.out;
await mkdir(outDir, { recursive: true });

for (const name of TEST_MODEL_NAMES) {
  const model = TEST_MODELS[name];
  if (model.large && !values.large) continue;
  const bytes = model.build();
  const path = join(outDir, model.fileName);
  // Always rewrite: the bytes are deterministic, so an unchanged model leaves no git diff.
  await writeFile(path, bytes);
  process.stdout.write(`${path}  ${bytes.length} bytes  ${model.computes}\n`);
}
if (!values.large) process.stdout.write('(skipped large models; pass --large to write them)\n');
