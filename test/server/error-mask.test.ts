// One error mask for HTTP and WebSocket: in production a misspelt field, argument or enum value
// is refused with the same message over both, without "Did you mean …?" suggestions that would
// spell out the schema while introspection is off.
import { startTestServer, type TestServer } from '../support/test-server.js';
import { openWs } from '../support/ws-client.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ NODE_ENV: 'production', JWT_SECRET: `k1:${'s'.repeat(43)}` });
}, 120_000);
afterAll(async () => server?.close());

const CASES = [
  ['a misspelt root field', '{ modle(slug: "x") { id } }', 'Cannot query field "modle" on type "Query".'],
  ['a misspelt nested field', '{ models { totalCont } }', 'Cannot query field "totalCont" on type "ModelConnection".'],
  ['a misspelt argument', '{ models(frist: 1) { totalCount } }', 'Unknown argument "frist" on field "Query.models".'],
  [
    'a misspelt enum value',
    '{ models(orderBy: POPULA) { totalCount } }',
    'Value "POPULA" does not exist in "ModelOrder" enum.',
  ],
] as const;

describe.each(['http', 'ws'] as const)('over %s in production', (transport) => {
  it.each(CASES)('%s: the message without suggestions', async (_label, query, message) => {
    let errors: { message: string; extensions?: Record<string, unknown> }[] | undefined;
    if (transport === 'http') {
      errors = (await server.gql(query)).errors;
    } else {
      const ws = openWs(server);
      try {
        errors = (await ws.run(query)).errors;
      } finally {
        await ws.dispose();
      }
    }
    expect(errors?.[0]?.message).toBe(message);
    expect(errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(errors)).not.toMatch(/did you mean/i);
  });
});
