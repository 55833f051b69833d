import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { WebSocket } from 'ws';
import { print } from 'graphql';
import { Role } from '../../src/entities/enums.js';
import type { User } from '../../src/entities/user.entity.js';
import {
  CreateModelDocument,
  DeleteModelDocument,
  DeprecateVersionDocument,
  ModelVersionsDocument,
  ModelVersionStatusChangedDocument,
  SetDefaultVersionDocument,
  UpdateModelDocument,
  UploadModelVersionDocument,
} from '../generated/graphql.js';
import { apiKeyFor, apiKeyHeaders, authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { filesUnder, FIXTURES } from './publishing-helpers.js';
import { postMultipart } from './multipart.js';

const LIMIT = 100 * 1024;
let server: TestServer;
let publisher: User;
let consumer: User;
let pub: Record<string, string>;

const fixture = (name: string) => ({ bytes: readFileSync(join(FIXTURES, name)), filename: name });

beforeAll(async () => {
  server = await startTestServer({ UPLOAD_MAX_BYTES: String(LIMIT) });
  const f = new Factory(server.app);
  publisher = await f.user({ role: Role.PUBLISHER });
  consumer = await f.user({ role: Role.CONSUMER });
  pub = await authHeaders(server.app, publisher);
  // Starting the embedded database and applying migrations can be slow on a busy machine.
}, 120_000);
afterAll(async () => server?.close());

let slugSeq = 0;
async function createModel(): Promise<string> {
  const res = await server.gql(
    CreateModelDocument,
    {
      input: {
        slug: `upload-${++slugSeq}`,
        name: 'Upload target',
        task: 'feature-transform',
        tags: ['Demo', 'demo'],
        pricePerRequest: '0.0015',
        freeRequestsPerMonth: 100,
      },
    },
    pub,
  );
  expect(res.errors).toBeUndefined();
  const model = res.data!.createModel;
  expect(model.tags).toEqual(['demo']);
  expect(model.pricing).toEqual({ pricePerRequest: { amount: '0.0015', currency: 'USD' }, freeRequestsPerMonth: 100 });
  expect(model.owner.id).toBe(publisher.id);
  return model.id;
}

const upload = (
  modelId: string,
  version: string,
  file: { bytes: Uint8Array | Blob; filename: string },
  headers = pub,
) =>
  postMultipart(
    server.origin,
    UploadModelVersionDocument,
    { modelId, version, changelog: `v${version}` },
    file,
    headers,
  );

async function versions(modelId: string) {
  const res = await server.gql(ModelVersionsDocument, { id: modelId }, pub);
  expect(res.errors).toBeUndefined();
  return res.data!.model;
}

it('uploads a real ONNX file over multipart, validates it in the background, and serves its signature', async () => {
  const modelId = await createModel();
  const res = await upload(modelId, '1.0.0', fixture('two-inputs.onnx'));
  expect(res.errors).toBeUndefined();
  const v = res.data!.uploadModelVersion;
  expect(v).toEqual(
    expect.objectContaining({ version: '1.0.0', status: 'PROCESSING', changelog: 'v1.0.0', isDefault: false }),
  );
  expect(v.sizeBytes).toBe(readFileSync(join(FIXTURES, 'two-inputs.onnx')).length);

  await server.app.services.versions.whenValidated(v.id);
  const model = await versions(modelId);
  const ready = model.versions.edges[0].node;
  expect(ready.status).toBe('READY');
  expect(ready.isDefault).toBe(true);
  expect(model.defaultVersion?.id).toBe(v.id);
  expect(ready.inputs.map((i) => i.name)).toEqual(expect.arrayContaining([expect.any(String)]));
  expect(ready.inputs.length).toBe(2);
  for (const spec of [...ready.inputs, ...ready.outputs]) {
    expect(spec.dtype).toMatch(/^(float32|int64|int32|float64)$/);
    expect(spec.shape.length).toBeGreaterThan(0);
  }
  // Warmed up once READY: the pool's workers hold a session for it before any prediction.
  const deadline = Date.now() + 20_000;
  const loaded = async () => (await server.app.inference.stats()).some((w) => w.sessions.includes(v.id));
  while (!(await loaded()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(await loaded()).toBe(true);
});

it('marks a corrupt upload FAILED with an actionable reason', async () => {
  const modelId = await createModel();
  const good = readFileSync(join(FIXTURES, 'mlp-small.onnx'));
  const res = await upload(modelId, '1.0.0', { bytes: good.subarray(0, 1500), filename: 'broken.onnx' });
  expect(res.errors).toBeUndefined();
  await server.app.services.versions.whenValidated(res.data!.uploadModelVersion.id);
  const node = (await versions(modelId)).versions.edges[0].node;
  expect(node.status).toBe('FAILED');
  expect(node.statusReason).toMatch(/corrupt or truncated ONNX file/);
  expect(node.isDefault).toBe(false);
});

it('refuses a file over the limit with PAYLOAD_TOO_LARGE and keeps no partial file', async () => {
  const modelId = await createModel();
  const before = filesUnder(server.app.config.modelStorageDir);
  const res = await upload(modelId, '1.0.0', { bytes: new Uint8Array(LIMIT + 10_000).fill(1), filename: 'big.onnx' });
  // The same status and shape as every too-large answer (test/server/request-size.test.ts).
  expect(res.status).toBe(413);
  expect(res.errors?.[0]?.extensions).toMatchObject({
    code: 'PAYLOAD_TOO_LARGE',
    maxBytes: LIMIT,
    limit: 'UPLOAD_FILE',
  });
  expect(res.errors?.[0]?.message).toMatch(/UPLOAD_MAX_BYTES/);
  expect(filesUnder(server.app.config.modelStorageDir)).toEqual(before);
  expect((await versions(modelId)).versions.totalCount).toBe(0);
});

it('refuses non-increasing versions and a repeated file, and lets one of two concurrent uploads win', async () => {
  const modelId = await createModel();
  const first = await upload(modelId, '2.0.0', fixture('elementwise.onnx'));
  expect(first.errors).toBeUndefined();
  const lower = await upload(modelId, '1.5.0', fixture('mlp-small.onnx'));
  expect(lower.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  expect(lower.errors?.[0]?.message).toMatch(/must be greater than the latest version, 2\.0\.0/);
  const same = await upload(modelId, '2.0.0', fixture('mlp-small.onnx'));
  expect(same.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  const dup = await upload(modelId, '2.1.0', fixture('elementwise.onnx'));
  expect(dup.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  expect(dup.errors?.[0]?.message).toMatch(/already uploaded as version 2\.0\.0/);

  const racers = await Promise.all([
    upload(modelId, '3.0.0', fixture('mlp-small.onnx')),
    upload(modelId, '3.0.0', fixture('all-dtypes.onnx')),
  ]);
  const codes = racers.map((r) => r.errors?.[0]?.extensions?.code ?? 'OK').sort();
  expect(codes).toEqual(['CONFLICT', 'OK']);
  const model = await versions(modelId);
  expect(model.versions.edges.map((e) => e.node.version).sort()).toEqual(['2.0.0', '3.0.0']);
  for (const e of model.versions.edges) await server.app.services.versions.whenValidated(e.node.id);
});

// Found by the abuse corpus (test/chaos/abuse-http.chaos.test.ts): broken multipart requests
// were answered 500 INTERNAL_SERVER_ERROR. busboy's parse errors carry no status (no boundary,
// a malformed part, a body cut short), and type-graphql awaits the Upload promise before the
// resolver runs, so a file missing from the request never reached the service's error handling.
it('answers broken multipart requests with 400 BAD_REQUEST or BAD_USER_INPUT, never a 500', async () => {
  const modelId = await createModel();
  const boundary = 'b0undary';
  const part = (name: string, value: string, filename?: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}\r\n\r\n${value}\r\n`;
  const operations = JSON.stringify({
    query: print(UploadModelVersionDocument),
    variables: { modelId, version: '1.0.0', file: null },
  });
  const map = JSON.stringify({ 0: ['variables.file'] });
  const send = (body: string, type = `multipart/form-data; boundary=${boundary}`) =>
    fetch(`${server.origin}/graphql`, {
      method: 'POST',
      headers: { ...pub, 'apollo-require-preflight': 'true', 'content-type': type },
      body,
    });
  const whole = part('operations', operations) + part('map', map) + part('0', 'not a model', 'm.onnx');
  for (const [body, type, code] of [
    [whole, 'multipart/form-data', 'BAD_REQUEST'], // no boundary
    [whole, 'multipart/form-data; boundary=another', 'BAD_REQUEST'], // no part found
    [`${part('operations', operations)}--${boundary}\r\nnot a header\r\n\r\n`, undefined, 'BAD_REQUEST'],
    [`${part('operations', operations)}${part('map', map)}--${boundary}--\r\n`, undefined, 'BAD_USER_INPUT'], // no file part
    [whole, undefined, 'BAD_USER_INPUT'], // no closing boundary: the file stream breaks
  ] as const) {
    const res = await send(body, type);
    expect(res.status).toBeLessThan(500);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).toBe(code);
  }
  expect((await versions(modelId)).versions.totalCount).toBe(0);
});

it('enforces roles, ownership and CSRF prevention', async () => {
  const modelId = await createModel();
  const consumerHeaders = await authHeaders(server.app, consumer);
  const create = await server.gql(
    CreateModelDocument,
    { input: { slug: 'nope', name: 'x', task: 'y' } },
    consumerHeaders,
  );
  expect(create.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  const anon = await server.gql(CreateModelDocument, { input: { slug: 'nope', name: 'x', task: 'y' } });
  expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  const stranger = await upload(modelId, '1.0.0', fixture('elementwise.onnx'), consumerHeaders);
  expect(stranger.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  const taken = await server.gql(CreateModelDocument, { input: { slug: 'upload-1', name: 'x', task: 'y' } }, pub);
  expect(taken.errors?.[0]?.extensions?.code).toBe('CONFLICT');

  // API keys: `models:write` may upload for its owner, `models:read` may not.
  const readKey = apiKeyHeaders(await apiKeyFor(server.app, publisher, ['models:read']));
  expect((await upload(modelId, '0.9.0', fixture('elementwise.onnx'), readKey)).errors?.[0]?.extensions?.code).toBe(
    'FORBIDDEN',
  );
  const writeKey = apiKeyHeaders(await apiKeyFor(server.app, publisher, ['models:write']));
  const byKey = await upload(modelId, '0.9.0', fixture('elementwise.onnx'), writeKey);
  expect(byKey.errors).toBeUndefined();
  await server.app.services.versions.whenValidated(byKey.data!.uploadModelVersion.id);

  // No preflight header: Apollo's CSRF prevention refuses the multipart request.
  const form = new FormData();
  form.append(
    'operations',
    JSON.stringify({ query: print(UploadModelVersionDocument), variables: { modelId, version: '1.0.0', file: null } }),
  );
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([fixture('mlp-small.onnx').bytes]), 'm.onnx');
  const csrf = await fetch(`${server.origin}/graphql`, { method: 'POST', headers: pub, body: form });
  expect(csrf.status).toBe(400);
  expect((await versions(modelId)).versions.totalCount).toBe(1);
});

it('updates, sets default (rollback), deprecates and soft-deletes through GraphQL', async () => {
  const modelId = await createModel();
  const upd = await server.gql(
    UpdateModelDocument,
    { id: modelId, input: { name: 'Renamed', pricePerRequest: '0.25', tags: ['a', 'b'] } },
    pub,
  );
  expect(upd.errors).toBeUndefined();
  expect(upd.data!.updateModel).toEqual(expect.objectContaining({ name: 'Renamed', tags: ['a', 'b'] }));
  expect(upd.data!.updateModel.pricing.pricePerRequest.amount).toBe('0.25');
  const badPrice = await server.gql(UpdateModelDocument, { id: modelId, input: { pricePerRequest: '0.1.2' } }, pub);
  expect(badPrice.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

  const a = (await upload(modelId, '1.0.0', fixture('elementwise.onnx'))).data!.uploadModelVersion;
  const b = (await upload(modelId, '1.1.0', fixture('mlp-small.onnx'))).data!.uploadModelVersion;
  await server.app.services.versions.whenValidated(a.id);
  await server.app.services.versions.whenValidated(b.id);
  const setB = await server.gql(SetDefaultVersionDocument, { versionId: b.id }, pub);
  expect(setB.data!.setDefaultVersion).toEqual({ id: b.id, isDefault: true });
  const back = await server.gql(SetDefaultVersionDocument, { versionId: a.id }, pub);
  expect(back.data!.setDefaultVersion.isDefault).toBe(true);
  expect((await versions(modelId)).defaultVersion?.id).toBe(a.id);
  const dep = await server.gql(DeprecateVersionDocument, { versionId: b.id }, pub);
  expect(dep.data!.deprecateVersion.status).toBe('DEPRECATED');

  const del = await server.gql(DeleteModelDocument, { id: modelId }, pub);
  expect(del.data!.deleteModel.deletedAt).toEqual(expect.any(String));
  // Still readable by the owner, NOT_FOUND for everyone else.
  expect((await versions(modelId)).deletedAt).toEqual(expect.any(String));
  const other = await server.gql(ModelVersionsDocument, { id: modelId });
  expect(other.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
});

type StatusEvent = { data: { modelVersionStatusChanged: { id: string; version: string; status: string } } };

it('publishes status changes to the owner over WebSocket: PROCESSING then READY', async () => {
  const modelId = await createModel();
  const v1 = (await upload(modelId, '1.0.0', fixture('elementwise.onnx'))).data!.uploadModelVersion;
  await server.app.services.versions.whenValidated(v1.id);
  const client: Client = createClient({
    url: server.url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: pub.authorization },
    retryAttempts: 0,
  });
  try {
    const events = client.iterate({ query: print(ModelVersionStatusChangedDocument), variables: { modelId } });
    // The server subscribes asynchronously: re-publish v1's status until one arrives, so the
    // upload below cannot happen before the subscription exists.
    let pending: Promise<IteratorResult<unknown>> = events.next();
    for (;;) {
      await server.app.events.publish('MODEL_VERSION_STATUS_CHANGED', modelId, {
        modelId,
        versionId: v1.id,
        status: 'READY' as never,
        at: new Date().toISOString(),
      });
      const got = await Promise.race([pending, new Promise((r) => setTimeout(() => r(null), 50))]);
      if (got) break;
    }
    const res = await upload(modelId, '1.1.0', fixture('mlp-small.onnx'));
    const id = res.data!.uploadModelVersion.id;
    const seen: { id: string; status: string }[] = [];
    while (!seen.some((e) => e.id === id && e.status === 'READY')) {
      pending = events.next();
      const next = await pending;
      const e = (next.value as StatusEvent).data.modelVersionStatusChanged;
      if (e.id === id) seen.push(e);
    }
    // Two events for the new version; the first may already read READY (each loads the row fresh).
    expect(seen).toHaveLength(2);
    expect(seen[1].status).toBe('READY');
    await events.return?.();
  } finally {
    await client.dispose();
  }
});
