import { RefreshToken } from '../../src/entities/refresh-token.entity.js';
import { User } from '../../src/entities/user.entity.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
}, 120_000);
afterAll(async () => server?.close());

const PAYLOAD = 'accessToken refreshToken expiresAt user { id role displayName email }';
const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { ${PAYLOAD} } }`;
const LOGIN = `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { ${PAYLOAD} } }`;
const REFRESH = `mutation($t: String!) { refreshToken(refreshToken: $t) { ${PAYLOAD} } }`;
const LOGOUT = 'mutation($t: String!) { logout(refreshToken: $t) }';

type Payload = {
  accessToken: string;
  refreshToken: string;
  expiresAt: string;
  user: { id: string; role: string; email: string };
};

let n = 0;
const email = () => `person${++n}-${Date.now()}@example.test`;
const PASSWORD = 'correct horse battery';

async function register(input: Record<string, unknown>) {
  return server.gql<{ register: Payload }>(REGISTER, {
    input: { password: PASSWORD, displayName: 'Someone', ...input },
  });
}

const code = (res: { errors?: { extensions?: Record<string, unknown> }[] }) => res.errors?.[0]?.extensions?.code;
const reason = (res: { errors?: { extensions?: Record<string, unknown> }[] }) => res.errors?.[0]?.extensions?.reason;

describe('register', () => {
  it('creates an account with a normalised email and logs it in', async () => {
    const res = await register({ email: '  Alice.Smith@Example.COM ', role: 'PUBLISHER' });
    expect(res.errors).toBeUndefined();
    const payload = res.data!.register;
    expect(payload.user).toMatchObject({ role: 'PUBLISHER', email: 'alice.smith@example.com' });
    expect(payload.refreshToken).toMatch(/^aimrt_/);
    expect(Date.parse(payload.expiresAt)).toBeGreaterThan(Date.now());
    const me = await server.gql('{ me { id } }', {}, { authorization: `Bearer ${payload.accessToken}` });
    expect(me.data).toEqual({ me: { id: payload.user.id } });
    // argon2id, never the password itself.
    const row = await server.app.db.orm.em
      .fork()
      .findOneOrFail(User, { id: payload.user.id }, { populate: ['passwordHash'] });
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
  });

  it('defaults to CONSUMER and never makes an ADMIN', async () => {
    expect((await register({ email: email() })).data?.register.user.role).toBe('CONSUMER');
    const admin = await register({ email: email(), role: 'ADMIN' });
    expect(code(admin)).toBe('BAD_USER_INPUT');
    expect(admin.errors?.[0]?.extensions?.field).toBe('role');
  });

  it('refuses a second account for the same email, however it is written', async () => {
    await register({ email: 'dup@example.test' });
    const again = await register({ email: 'DUP@example.test ' });
    expect(code(again)).toBe('CONFLICT');
  });

  it.each([
    ['short', 'TOO_SHORT'],
    ['a'.repeat(129), 'TOO_LONG'],
    ['aaaaaaaaaaaa', 'TOO_SIMPLE'],
    ['password123', 'TOO_COMMON'],
  ])('refuses the password %j with a clear reason (%s)', async (password, why) => {
    const res = await register({ email: email(), password });
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions).toMatchObject({ field: 'password', reason: why });
  });

  it('refuses a malformed email', async () => {
    const res = await register({ email: 'not-an-email' });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'email' });
  });
});

describe('login', () => {
  const who = 'login-user@example.test';
  beforeAll(async () => {
    await register({ email: who });
  }, 120_000);

  it('logs in with the right password, whatever the email case', async () => {
    const res = await server.gql<{ login: Payload }>(LOGIN, { email: 'Login-User@Example.test', password: PASSWORD });
    expect(res.errors).toBeUndefined();
    expect(res.data!.login.user.email).toBe(who);
  });

  it('gives one answer for a wrong password and an unknown email', async () => {
    const wrong = await server.gql(LOGIN, { email: who, password: 'wrong password!!' });
    const unknown = await server.gql(LOGIN, { email: 'nobody-here@example.test', password: PASSWORD });
    // The same answer but for the request id, which is each request's own.
    const withoutId = (e: { extensions?: Record<string, unknown> } | undefined) => ({
      ...e,
      extensions: { ...e?.extensions, requestId: undefined },
    });
    expect(withoutId(wrong.errors?.[0])).toEqual(withoutId(unknown.errors?.[0]));
    expect(wrong.errors?.[0]).toMatchObject({
      message: 'Invalid email or password',
      extensions: { code: 'UNAUTHENTICATED', reason: 'INVALID_CREDENTIALS' },
    });
  });

  it('takes about as long for an unknown email as for a wrong password (dummy hash)', async () => {
    const time = async (vars: Record<string, string>) => {
      const started = performance.now();
      await server.gql(LOGIN, vars);
      return performance.now() - started;
    };
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 7; i++) {
      wrong.push(await time({ email: who, password: 'wrong password!!' }));
      unknown.push(await time({ email: `ghost${i}@example.test`, password: 'wrong password!!' }));
    }
    // Without the dummy verification an unknown email answers in ~1 ms against ~20+ ms.
    expect(median(unknown) / median(wrong)).toBeGreaterThan(0.5);
  });
});

describe('refresh tokens', () => {
  async function session() {
    const res = await register({ email: email() });
    return res.data!.register;
  }

  it('rotates on every use', async () => {
    const first = await session();
    const second = await server.gql<{ refreshToken: Payload }>(REFRESH, { t: first.refreshToken });
    expect(second.errors).toBeUndefined();
    expect(second.data!.refreshToken.refreshToken).not.toBe(first.refreshToken);
    expect(second.data!.refreshToken.user.id).toBe(first.user.id);
    const third = await server.gql<{ refreshToken: Payload }>(REFRESH, { t: second.data!.refreshToken.refreshToken });
    expect(third.errors).toBeUndefined();
  });

  it('revokes the whole family when an old token is reused', async () => {
    const first = await session();
    const second = (await server.gql<{ refreshToken: Payload }>(REFRESH, { t: first.refreshToken })).data!.refreshToken;
    // An attacker (or a confused client) replays the first token:
    const replay = await server.gql(REFRESH, { t: first.refreshToken });
    expect(replay.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'REFRESH_TOKEN_REUSED' });
    // …and the legitimate newest token is dead too.
    const legit = await server.gql(REFRESH, { t: second.refreshToken });
    expect(code(legit)).toBe('UNAUTHENTICATED');
    const rows = await server.app.db.orm.em.fork().find(RefreshToken, { user: first.user.id });
    expect(rows.length).toBe(2);
    expect(rows.every((r) => r.revokedAt !== null)).toBe(true);
  });

  it('lets only one of two concurrent uses of a token win', async () => {
    const first = await session();
    const results = await Promise.all(
      [1, 2, 3].map(() => server.gql<{ refreshToken: Payload }>(REFRESH, { t: first.refreshToken })),
    );
    expect(results.filter((r) => !r.errors).length).toBeLessThanOrEqual(1);
  });

  it('refuses garbage and stores only hashes', async () => {
    expect(reason(await server.gql(REFRESH, { t: 'aimrt_nope' }))).toBe('INVALID_REFRESH_TOKEN');
    const s = await session();
    const rows = await server.app.db.orm.em.fork().find(RefreshToken, { user: s.user.id });
    expect(rows[0].tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(s.refreshToken);
  });

  it('logout revokes the session', async () => {
    const s = await session();
    expect((await server.gql(LOGOUT, { t: s.refreshToken })).data).toEqual({ logout: true });
    expect(code(await server.gql(REFRESH, { t: s.refreshToken }))).toBe('UNAUTHENTICATED');
    // Unknown tokens: same answer (no oracle).
    expect((await server.gql(LOGOUT, { t: 'aimrt_whatever' })).data).toEqual({ logout: true });
  });
});
