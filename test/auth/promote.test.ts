import { spawnSync } from 'node:child_process';
import { parsePromoteArgs, setUserRole } from '../../src/auth/promote.js';
import { Role } from '../../src/entities/enums.js';
import { User } from '../../src/entities/user.entity.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
}, 120_000);
afterAll(async () => server?.close());

describe('npm run promote', () => {
  it('parses --email and --role in both spellings', () => {
    expect(parsePromoteArgs(['--email', 'a@b.test', '--role', 'ADMIN'])).toEqual({
      email: 'a@b.test',
      role: Role.ADMIN,
    });
    expect(parsePromoteArgs(['--email=a@b.test', '--role=publisher'])).toEqual({
      email: 'a@b.test',
      role: Role.PUBLISHER,
    });
    expect(() => parsePromoteArgs(['--email', 'a@b.test'])).toThrow(/usage/);
    expect(() => parsePromoteArgs(['--email', 'a@b.test', '--role', 'ROOT'])).toThrow(/unknown role ROOT/);
  });

  it('makes an admin, found by normalised email; the new role reaches the next refreshed token', async () => {
    const user = await new Factory(server.app).user({ email: 'boss@example.test' });
    const result = await setUserRole(server.app.db.orm.em.fork(), { email: ' BOSS@example.test', role: Role.ADMIN });
    expect(result).toEqual({ id: user.id, from: Role.CONSUMER, to: Role.ADMIN });
    expect((await server.app.db.orm.em.fork().findOneOrFail(User, { id: user.id })).role).toBe(Role.ADMIN);
    await expect(
      setUserRole(server.app.db.orm.em.fork(), { email: 'nobody@example.test', role: Role.ADMIN }),
    ).rejects.toThrow(/no account/);
  });

  it('exits with a usage message on bad arguments (the real script)', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', '@swc-node/register/esm-register', 'scripts/promote.ts', '--role', 'ADMIN'],
      {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '' },
        timeout: 60_000,
      },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/usage: npm run promote -- --email <email> --role/);
  });
});
