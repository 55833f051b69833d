// Rate limits (the upload limit included) belong to the user, not to a credential: the access
// token and every API key of one user, new or rotated, share one bucket per operation class,
// over HTTP and WebSocket alike.
import { randomUUID } from 'node:crypto';
import { Role } from '../../src/entities/enums.js';
import { apiKeyHeaders, authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { openWs, wsParams } from '../support/ws-client.js';

let server: TestServer;
let f: Factory;

beforeAll(async () => {
  server = await startTestServer({
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_PREDICT: '3/600',
    RATE_LIMIT_UPLOAD: '3/600',
  });
  f = new Factory(server.app);
}, 120_000);
afterAll(async () => server?.close());

const CLASSES = {
  // A model that does not exist: NOT_FOUND once past the limit, which runs before the resolver.
  predict: {
    role: Role.CONSUMER,
    scope: 'predict',
    query: `mutation { predict(modelId: "${randomUUID()}", inputs: []) { inferenceTimeMs } }`,
    variables: {},
  },
  // No file (a null Upload): refused by the resolver's argument, once past the limit.
  upload: {
    role: Role.PUBLISHER,
    scope: 'models:write',
    query: `mutation($f: Upload!) { uploadModelVersion(modelId: "${randomUUID()}", version: "1.0.0", file: $f) { id } }`,
    variables: { f: null },
  },
} as const;

async function newKey(headers: Record<string, string>, scope: string) {
  const res = await server.gql<{ createApiKey: { secret: string; apiKey: { id: string } } }>(
    'mutation($s: [String!]!) { createApiKey(input: { name: "k", scopes: $s }) { secret apiKey { id } } }',
    { s: [scope] },
    headers,
  );
  return res.data!.createApiKey;
}

describe.each(['http', 'ws'] as const)('over %s', (transport) => {
  const send = async (cls: keyof typeof CLASSES, headers: Record<string, string>) => {
    const { query, variables } = CLASSES[cls];
    const res =
      transport === 'http'
        ? await server.gql(query, variables, headers)
        : await (async () => {
            const ws = openWs(server, wsParams(headers));
            try {
              return await ws.run(query, variables);
            } finally {
              await ws.dispose();
            }
          })();
    return (res.errors?.[0]?.extensions?.code as string | undefined) ?? 'OK';
  };

  it.each(['predict', 'upload'] as const)(
    'the %s limit is one bucket for the token, each new key and each rotation',
    async (cls) => {
      const user = await f.user({ role: CLASSES[cls].role });
      const token = await authHeaders(server.app, user);
      const first = await newKey(token, CLASSES[cls].scope);
      const second = await newKey(token, CLASSES[cls].scope);
      const outcomes = [
        await send(cls, token),
        await send(cls, apiKeyHeaders(first.secret)),
        await send(cls, apiKeyHeaders(second.secret)),
      ];
      expect(outcomes).not.toContain('RATE_LIMITED');
      // The bucket is empty: a third key, a rotated one, and the token itself are all refused.
      const third = await newKey(token, CLASSES[cls].scope);
      const rotated = await server.gql<{ rotateApiKey: { secret: string } }>(
        'mutation($id: ID!) { rotateApiKey(id: $id) { secret } }',
        { id: first.apiKey.id },
        token,
      );
      expect(await send(cls, apiKeyHeaders(third.secret))).toBe('RATE_LIMITED');
      expect(await send(cls, apiKeyHeaders(rotated.data!.rotateApiKey.secret))).toBe('RATE_LIMITED');
      expect(await send(cls, token)).toBe('RATE_LIMITED');
      // Another user's bucket is their own.
      const other = await f.user({ role: CLASSES[cls].role });
      expect(await send(cls, await authHeaders(server.app, other))).not.toBe('RATE_LIMITED');
    },
  );
});
