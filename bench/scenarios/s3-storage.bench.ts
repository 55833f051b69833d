import '../support/bench-env.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Upload } from '@aws-sdk/lib-storage';
import { loadConfig } from '../../src/config.js';
import { LocalModelStorage } from '../../src/storage/model-storage.js';
import { S3ModelStorage } from '../../src/storage/s3-storage.js';
import { startS3Server } from '../../test/support/s3-server.js';
import type { BenchScenario } from '../harness.js';
import { generated, MB } from '../support/generated-bytes.js';
import { percentile, round } from '../harness.js';

const discard = () =>
  new Writable({
    write(_chunk, _e, cb) {
      cb();
    },
  });
const median = (xs: number[]) => percentile(xs, 50);

/**
 * MODEL_STORAGE=s3 against an S3-compatible server (s3rver, in a process of its own, on
 * loopback): a 200 MiB model file stored through S3ModelStorage (streamed in 16 MiB parts,
 * hashed) against the SDK's own multipart Upload of the same bytes (the baseline: what any S3
 * client pays), the local folder as a reference, then read back as a stream and into a cold and
 * a warm cache. Rounds alternate; medians.
 */
export const scenario: BenchScenario = {
  name: 's3-storage',
  title: 'S3 storage: 200 MiB in and out through S3ModelStorage vs the SDK’s own Upload, local folder as reference',
  async run({ log, quick }) {
    const sizeMb = quick ? 32 : 200;
    const rounds = quick ? 1 : 3;
    const s3 = await startS3Server('bench');
    const scratch = await mkdtemp(join(tmpdir(), 'mm-s3-bench-'));
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: scratch, ...s3.env() });
    if (config.storage.kind !== 's3') throw new Error('expected S3 settings');
    const settings = config.storage;
    const local = new LocalModelStorage(join(scratch, 'local'));
    const times = { local: [] as number[], sdk: [] as number[], ours: [] as number[], read: [] as number[] };
    const cold: number[] = [];
    const warm: number[] = [];
    try {
      for (let r = 0; r < rounds; r++) {
        log(`round ${r + 1}/${rounds}: ${sizeMb} MiB to the local folder, the SDK's Upload, S3ModelStorage`);
        let t = performance.now();
        await local.putStream(`r${r}/local.onnx`, generated(sizeMb));
        times.local.push((performance.now() - t) / 1000);

        const store = new S3ModelStorage({ ...settings, cacheDir: join(scratch, `cache-${r}`) });
        t = performance.now();
        await new Upload({
          client: store.client,
          params: { Bucket: settings.bucket, Key: `r${r}/sdk.onnx`, Body: generated(sizeMb) },
          partSize: settings.partBytes,
          queueSize: 4,
        }).done();
        times.sdk.push((performance.now() - t) / 1000);

        t = performance.now();
        const stored = await store.putStream(`r${r}/ours.onnx`, generated(sizeMb));
        times.ours.push((performance.now() - t) / 1000);
        if (stored.sizeBytes !== sizeMb * MB) throw new Error('stored size differs');

        t = performance.now();
        await pipeline(await store.openRead(`r${r}/ours.onnx`), discard());
        times.read.push((performance.now() - t) / 1000);
        t = performance.now();
        await store.localPath(`r${r}/ours.onnx`);
        cold.push((performance.now() - t) / 1000);
        t = performance.now();
        await store.localPath(`r${r}/ours.onnx`);
        warm.push(performance.now() - t);
        store.close();
      }
      const rate = (xs: number[]) => round(sizeMb / median(xs), 1);
      const ratio = round(rate(times.ours) / rate(times.sdk), 3);
      return {
        metrics: {
          'file size MiB': sizeMb,
          'S3ModelStorage.putStream MiB/s': rate(times.ours),
          'baseline: SDK Upload of the same bytes MiB/s': rate(times.sdk),
          'reference: local folder putStream MiB/s': rate(times.local),
          'throughput ratio putStream / SDK Upload': ratio,
          'openRead streamed MiB/s': rate(times.read),
          'localPath cold (download into the cache) MiB/s': rate(cold),
          'localPath warm ms': round(median(warm), 3),
        },
        targets: [
          {
            name: 'S3ModelStorage.putStream / the SDK’s own Upload',
            value: ratio,
            target: '>= 0.8 (hashing and the size limit cost little)',
            pass: ratio >= 0.8,
          },
        ],
        notes: [
          's3rver stores on this machine’s disk in its own process: absolute figures are this machine’s loopback and disk, the ratio is ours.',
        ],
      };
    } finally {
      await s3.close();
      await rm(scratch, { recursive: true, force: true });
    }
  },
};
