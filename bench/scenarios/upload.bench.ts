import '../support/bench-env.js';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { print } from 'graphql';
import { Role } from '../../src/entities/enums.js';
import { CreateModelDocument, UploadModelVersionDocument } from '../../test/generated/graphql.js';
import { authHeaders } from '../../test/support/auth.js';
import { Factory } from '../../test/support/factories.js';
import { startTestServer } from '../../test/support/test-server.js';
import type { BenchScenario } from '../harness.js';
import { generated, MB } from '../support/generated-bytes.js';
import { round } from '../harness.js';

/** Samples this process's RSS until stopped; returns the peak. */
function rssSampler() {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

/**
 * A GraphQL multipart request (operations, map, file) streamed with node:http, so the client
 * never holds the file either and the RSS figure is the server's doing.
 */
function streamUpload(
  url: string,
  headers: Record<string, string>,
  variables: Record<string, unknown>,
  sizeMb: number,
) {
  const boundary = `----bench${randomUUID()}`;
  const part = (name: string, value: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const head =
    part(
      'operations',
      JSON.stringify({ query: print(UploadModelVersionDocument), variables: { ...variables, file: null } }),
    ) +
    part('map', JSON.stringify({ 0: ['variables.file'] })) +
    `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="big.onnx"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          ...headers,
          'apollo-require-preflight': 'true',
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    const body = Readable.from(
      (async function* () {
        yield Buffer.from(head);
        for await (const chunk of generated(sizeMb)) yield chunk as Buffer;
        yield Buffer.from(tail);
      })(),
    );
    body.pipe(req);
  });
}

/** A bare node:http server that reads and discards request bodies: the transport's ceiling. */
async function startDrain() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{"data":{}}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Uploads a 200 MiB file through GraphQL multipart (graphql-upload-ts → storage while hashing)
 * and reports throughput and this process's peak RSS growth. Baseline, same run: the same
 * client streaming the same multipart request to a bare node:http server that discards it (the
 * loopback transport's ceiling on this machine); a hashed write straight to disk is reported too.
 * Targets: RSS growth well under the file's size (the server streams, it does not buffer) and
 * at least a third of the baseline's throughput (the multipart path writes the bytes twice:
 * graphql-upload-ts's temp file, then storage).
 */
export const scenario: BenchScenario = {
  name: 'upload',
  title: 'Model upload: 200 MiB over GraphQL multipart, throughput and peak RSS vs a bare server discarding it',
  async run({ log, quick }) {
    const sizeMb = quick ? 50 : 200;
    const server = await startTestServer({ UPLOAD_MAX_BYTES: String((sizeMb + 10) * MB) });
    const scratch = await mkdtemp(join(tmpdir(), 'mm-upload-bench-'));
    try {
      const f = new Factory(server.app);
      const publisher = await f.user({ role: Role.PUBLISHER });
      const headers = await authHeaders(server.app, publisher);
      const created = await server.gql(
        CreateModelDocument,
        { input: { slug: 'bench-upload', name: 'Bench upload', task: 'bench' } },
        headers,
      );
      if (created.errors) throw new Error(JSON.stringify(created.errors));
      const modelId = created.data!.createModel.id;

      log(`reference: hashing and writing ${sizeMb} MiB straight to disk`);
      global.gc?.();
      const baseStart = performance.now();
      const hash = createHash('sha256');
      await pipeline(
        generated(sizeMb),
        new Transform({
          transform(chunk: Buffer, _e, cb) {
            hash.update(chunk);
            cb(null, chunk);
          },
        }),
        createWriteStream(join(scratch, 'baseline.bin')),
      );
      hash.digest('hex');
      const baseSeconds = (performance.now() - baseStart) / 1000;

      log(`baseline: the same ${sizeMb} MiB multipart request to a server that discards it`);
      const drain = await startDrain();
      const drainStart = performance.now();
      await streamUpload(drain.url, {}, { modelId, version: '0.0.0' }, sizeMb);
      const drainSeconds = (performance.now() - drainStart) / 1000;
      await drain.close();

      global.gc?.();
      const rssBefore = process.memoryUsage.rss();
      const sampler = rssSampler();
      log(`uploading ${sizeMb} MiB through POST /graphql (multipart)`);
      const started = performance.now();
      const res = await streamUpload(server.url, headers, { modelId, version: '1.0.0' }, sizeMb);
      const seconds = (performance.now() - started) / 1000;
      const peak = sampler.stop();
      const parsed = JSON.parse(res.body) as {
        data?: { uploadModelVersion?: { id: string; sizeBytes: number } };
        errors?: unknown;
      };
      if (!parsed.data?.uploadModelVersion) throw new Error(`upload failed (${res.status}): ${res.body.slice(0, 500)}`);
      if (parsed.data.uploadModelVersion.sizeBytes !== sizeMb * MB)
        throw new Error('stored size differs from the upload');
      await server.app.services.versions.whenValidated(parsed.data.uploadModelVersion.id);

      const mbps = round(sizeMb / seconds, 1);
      const diskMbps = round(sizeMb / baseSeconds, 1);
      const baseMbps = round(sizeMb / drainSeconds, 1);
      const growthMb = round((peak - rssBefore) / MB, 1);
      return {
        metrics: {
          'file size MiB': sizeMb,
          'upload throughput MiB/s': mbps,
          'baseline: bare server discarding the request MiB/s': baseMbps,
          'reference: hashed write straight to disk MiB/s': diskMbps,
          'throughput ratio upload / baseline': round(mbps / baseMbps, 3),
          'RSS before upload MiB': round(rssBefore / MB, 1),
          'peak RSS during upload MiB': round(peak / MB, 1),
          'peak RSS growth MiB': growthMb,
        },
        targets: [
          {
            name: 'peak RSS growth while uploading (MiB)',
            value: growthMb,
            target: `< ${sizeMb / 2} (streams, does not buffer)`,
            pass: growthMb < sizeMb / 2,
          },
          {
            name: 'upload throughput / baseline',
            value: round(mbps / baseMbps, 3),
            target: '>= 0.33',
            pass: mbps / baseMbps >= 0.33,
          },
        ],
        notes: [
          'Client and server share this process: the client streams its body from a reused 1 MiB chunk, so RSS growth is the server path (busboy, fs-capacitor temp file, storage write, SHA-256).',
          'The uploaded bytes are not a model: validation marks the version FAILED after the measurement.',
        ],
      };
    } finally {
      await rm(scratch, { recursive: true, force: true });
      await server.close();
    }
  },
};
